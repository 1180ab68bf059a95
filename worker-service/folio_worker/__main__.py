from folio.cli import run_service_cli
from folio_worker.settings import WorkerSettings


def main() -> None:
    run_service_cli(
        prog="folio-worker",
        app_factory="folio_worker.main:create_app",
        settings_factory=WorkerSettings,
    )


if __name__ == "__main__":
    main()
