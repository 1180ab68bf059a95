from pathlib import Path

from folio.cli import run_service_cli
from folio_community.settings import CommunitySettings


def main() -> None:
    run_service_cli(
        prog="folio-community",
        app_factory="folio_community.main:create_app",
        settings_factory=CommunitySettings,
        migrations=Path(__file__).parent / "migrations",
    )


if __name__ == "__main__":
    main()
