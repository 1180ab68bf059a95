from folio.cli import run_service_cli
from folio_gateway.settings import GatewaySettings


def main() -> None:
    run_service_cli(
        prog="folio-gateway",
        app_factory="folio_gateway.main:create_app",
        settings_factory=GatewaySettings,
    )


if __name__ == "__main__":
    main()
