#!/bin/sh
# Mail each salesperson their day: overdue tasks and those due today.
#
#   crontab -e
#   0 7 * * 1-5  /path/to/crmctl/examples/cron/daily-tasks.sh /path/to/crm sarah:sarah@example.com jim:jim@example.com
#
# Cron runs with almost no environment: crmctl must be on PATH (or give its full path below),
# and the CRM repo needs no identity for reading. The report says so plainly when a day is
# empty, so an empty mail still tells the reader nothing is due. Nothing is written.
set -eu
crm=$1
shift
for pair in "$@"; do
    user=${pair%%:*}
    address=${pair#*:}
    crmctl --dir "$crm" report tasks --assignee "$user" |
        mail -s "Your tasks for $(date +%Y-%m-%d)" "$address"
done
