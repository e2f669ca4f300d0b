#!/bin/sh
# Mail each salesperson their day: overdue tasks and those due today, as a text + HTML mail.
#
#   crontab -e
#   0 7 * * 1-5  /path/to/crmctl/examples/cron/daily-tasks.sh /path/to/crm sarah:sarah@example.com jim:jim@example.com
#
# Cron runs with almost no environment: crmctl and sendmail must be on PATH (or give their
# full paths below). Reports only read, so the CRM needs no identity; the mail's From is the
# repo's git identity unless CRMCTL_MAIL_FROM is set. A salesperson with nothing due and
# nothing overdue gets no mail (--fail-if-empty exits 1 and prints nothing); any other
# failure is printed on stderr, which cron mails to the crontab's owner.
set -u
crm=$1
shift
from=${CRMCTL_MAIL_FROM:-}
status=0
for pair in "$@"; do
    user=${pair%%:*}
    address=${pair#*:}
    if message=$(crmctl --dir "$crm" report tasks --assignee "$user" --format email \
            --to "$address" --subject "Your tasks for $(date +%Y-%m-%d)" \
            ${from:+--from "$from"} --fail-if-empty); then
        printf '%s\n' "$message" | sendmail -t || status=1
    elif [ -n "$message" ]; then
        status=1
    fi
done
exit $status
