from folio_cli.main import main

main()
