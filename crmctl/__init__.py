"""crmctl: a command-line CRM for small sales teams, kept as YAML files in a git repository.

The command line is a thin shell over this package: ``crmctl.store.Crm`` opens a CRM folder and
``crmctl.records`` adds and finds records, so other Python code can do whatever the CLI does.
"""

__version__ = "0.1.0"
