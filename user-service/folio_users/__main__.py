from pathlib import Path

from folio.cli import run_service_cli
from folio_users.settings import UserSettings


def main() -> None:
    run_service_cli(
        prog="folio-users",
        app_factory="folio_users.main:create_app",
        settings_factory=UserSettings,
        migrations=Path(__file__).parent / "migrations",
    )


if __name__ == "__main__":
    main()
