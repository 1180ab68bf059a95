from folio.settings import DatabaseSettings


class UserSettings(DatabaseSettings):
    service_name: str = "user-service"
    http_port: int = 8003
    database_schema: str = "users"
