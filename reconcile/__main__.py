from reconcile.cli.commands import main

main()
