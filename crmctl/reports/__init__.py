"""Reports: each module returns plain rows; crmctl.render turns them into text, csv or json."""
