from folio_cli.app import main

main()
