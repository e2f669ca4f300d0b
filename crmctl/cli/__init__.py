"""The Typer commands: parse options, call the core, render. No business rules here."""
