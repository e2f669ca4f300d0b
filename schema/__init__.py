"""The shipped JSON Schemas and the default process, installed as crmctl._schema."""
