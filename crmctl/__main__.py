from crmctl.launch import main

main()
