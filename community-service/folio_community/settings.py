from folio.settings import DatabaseSettings


class CommunitySettings(DatabaseSettings):
    service_name: str = "community-service"
    http_port: int = 8002
    database_schema: str = "community"
