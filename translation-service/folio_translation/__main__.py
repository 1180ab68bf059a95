from pathlib import Path

from folio.cli import run_service_cli
from folio_translation.settings import TranslationSettings


def main() -> None:
    run_service_cli(
        prog="folio-translation",
        app_factory="folio_translation.main:create_app",
        settings_factory=TranslationSettings,
        migrations=Path(__file__).parent / "migrations",
    )


if __name__ == "__main__":
    main()
