function __phoneshift_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __phoneshift_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __phoneshift_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __phoneshift_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __phoneshift_parse_tokens -S
    set -l unparsed_tokens (__phoneshift_tokens -pc)
    switch $unparsed_tokens[1]
    case 'phoneshift'
        __phoneshift_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'validate'
            __phoneshift_parse_subcommand 1 'o/output=' 'json' 'user-column=' 'phone-column=' 'region-column=' 'region=' 'phone-type=' 'strict' 'worksheet=' 'delimiter=' 'encoding=' 'workers=' 'v/verbose' 'q/quiet' 'log-format=' 'version' 'h/help'
        case 'plan'
            __phoneshift_parse_subcommand 1 'detailed-exitcode' 'full' 'accept-valves' 'replace' 'show-all' 'force-unlock' 'v/verbose' 'q/quiet' 'log-format=' 'version' 'h/help'
        case 'apply'
            __phoneshift_parse_subcommand 1 'detailed-exitcode' 'accept-valves' 'retry-failed' 'force-unlock' 'v/verbose' 'q/quiet' 'log-format=' 'version' 'h/help'
        case 'run'
            __phoneshift_parse_subcommand 1 'detailed-exitcode' 'full' 'accept-valves' 'force-unlock' 'v/verbose' 'q/quiet' 'log-format=' 'version' 'h/help'
        case 'status'
            __phoneshift_parse_subcommand 1 'v/verbose' 'q/quiet' 'log-format=' 'version' 'h/help'
        case 'report'
            __phoneshift_parse_subcommand 1 'run=' 'output=' 'v/verbose' 'q/quiet' 'log-format=' 'version' 'h/help'
        case 'export'
            __phoneshift_parse_subcommand 1 'output=' 'masked' 'v/verbose' 'q/quiet' 'log-format=' 'version' 'h/help'
        case 'readiness'
            __phoneshift_parse_subcommand 1 'output=' 'users=' 'drafts' 'v/verbose' 'q/quiet' 'log-format=' 'version' 'h/help'
        case 'notify'
            __phoneshift_parse_subcommand 1 'run=' 'v/verbose' 'q/quiet' 'log-format=' 'version' 'h/help'
        case 'rollback'
            __phoneshift_parse_subcommand 1 'run=' 'dry-run' 'retry-failed' 'force-unlock' 'v/verbose' 'q/quiet' 'log-format=' 'version' 'h/help'
        case 'verify'
            __phoneshift_parse_subcommand 1 'run=' 'force-unlock' 'v/verbose' 'q/quiet' 'log-format=' 'version' 'h/help'
        case 'approve'
            __phoneshift_parse_subcommand 1 'sign-with=' 'comment=' 'yes' 'show-only' 'v/verbose' 'q/quiet' 'log-format=' 'version' 'h/help'
        case 'audit'
            __phoneshift_parse_subcommand 1 'verify' 'anchor=' 'export=' 'format=' 'v/verbose' 'q/quiet' 'log-format=' 'version' 'h/help'
        case 'init'
            __phoneshift_parse_subcommand 1 'o/output=' 'use=' 'name=' 'region=' 'phone-type=' 'user-column=' 'phone-column=' 'tenant-id=' 'client-id=' 'cloud=' 'authority=' 'graph=' 'secret-env=' 'certificate' 'certificate-days=' 'force' 'yes' 'v/verbose' 'q/quiet' 'log-format=' 'version' 'h/help'
        case 'doctor'
            __phoneshift_parse_subcommand 1 'json' 'v/verbose' 'q/quiet' 'log-format=' 'version' 'h/help'
        case 'demo'
            __phoneshift_parse_subcommand 0 'job=' 'directory=' 'v/verbose' 'q/quiet' 'log-format=' 'version' 'h/help'
        case 'help'
            __phoneshift_parse_subcommand -r 1 'version'
        end
    end
end

function __phoneshift_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __phoneshift_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __phoneshift_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __phoneshift_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__phoneshift_tokens -p)
    if test -z "$(__phoneshift_tokens -t)"
        set -l index (count (__phoneshift_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'phoneshift' -f
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift" version' -l 'version' -d 'Show the version.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_positional "phoneshift" -eq 1' -fa 'validate' -d 'Check a change sheet offline: every bad row named with its line and a reason.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_positional "phoneshift" -eq 1' -fa 'plan' -d 'Read each row\'s user and current number from Graph (read-only), and store the plan.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_positional "phoneshift" -eq 1' -fa 'apply' -d 'Carry out the stored plan at the speed Graph allows; resumable after any crash.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_positional "phoneshift" -eq 1' -fa 'run' -d 'Unattended: validate, plan, check the safety valves, apply and report, under one lock (cron, systemd, Kubernetes).'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_positional "phoneshift" -eq 1' -fa 'status' -d 'Progress of the current or last run of a job, also while another process applies it.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_positional "phoneshift" -eq 1' -fa 'report' -d 'Write the report set of a job from its store: report.csv, report.json, report.html, failures.csv.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_positional "phoneshift" -eq 1' -fa 'export' -d 'Export every user\'s MFA phone numbers, SMS sign-in, other MFA methods, admin roles and account state.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_positional "phoneshift" -eq 1' -fa 'readiness' -d 'Read-only: which users have a phishing-resistant method, only an app, only phones, or nothing — before SMS and voice stop.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_positional "phoneshift" -eq 1' -fa 'notify' -d 'Write notification drafts (.eml) for the users a run changed, and a summary for the helpdesk.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_positional "phoneshift" -eq 1' -fa 'rollback' -d 'Restore every number a run changed to its value before that run (resumable; a rollback can be rolled back).'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_positional "phoneshift" -eq 1' -fa 'verify' -d 'Re-read from Graph every number a run changed and report what is no longer as applied (read-only towards Graph).'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_positional "phoneshift" -eq 1' -fa 'approve' -d 'Review the stored plan (masked, risky rows first) and record your approval of it, bound to its digest.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_positional "phoneshift" -eq 1' -fa 'audit' -d 'Check the job store\'s hash-chained audit trail, or export it for a SIEM (JSON lines or CEF).'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_positional "phoneshift" -eq 1' -fa 'init' -d 'Write a commented job file from a sheet, optionally a key and certificate, and print how to register the app.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_positional "phoneshift" -eq 1' -fa 'doctor' -d 'Check everything a run of the job needs, item by item, and say what to fix.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_positional "phoneshift" -eq 1' -fa 'demo' -d 'Start graph-emulator on a free loopback port, run Jobs/demo.yaml through validate → plan → apply, show the results.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_positional "phoneshift" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift validate" o output' -l 'output' -s 'o' -d 'Write one row per input row to this CSV file.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift validate" json' -l 'json' -d 'Print a machine-readable summary (JSON) instead of the text summary.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift validate" user-column' -l 'user-column' -d 'Column with the user (name or 1-based number).' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift validate" phone-column' -l 'phone-column' -d 'Column with the new phone number (name or 1-based number).' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift validate" region-column' -l 'region-column' -d 'Column with each row\'s country (name or 1-based number).' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift validate" region' -l 'region' -d 'Country for numbers without +CC when the row names none (ISO code, e.g. GB).' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift validate" phone-type' -l 'phone-type' -d 'The phone method to set: mobile, alternateMobile or office.' -rfka 'mobile alternateMobile office'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift validate" strict' -l 'strict' -d 'Refuse numbers outside the phone library\'s numbering-plan data instead of warning.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift validate" worksheet' -l 'worksheet' -d 'The worksheet of an Excel workbook (default: the first).' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift validate" delimiter' -l 'delimiter' -d 'Field delimiter: \',\', \';\', \'tab\' or \'|\' (detected when not given).' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift validate" encoding' -l 'encoding' -d 'Encoding: utf-8, utf-16le, utf-16be or windows-1252 (detected from the BOM when not given).' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift validate" workers' -l 'workers' -d 'Threads that normalise numbers (default: one per core).' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift validate" v verbose' -l 'verbose' -s 'v' -d 'Log what is decided.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift validate" q quiet' -l 'quiet' -s 'q' -d 'Print only problems (warnings and errors); nothing on success.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift validate" log-format' -l 'log-format' -d 'text, or json: one JSON object per line on standard error (logs and events), for log shippers.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift validate" version' -l 'version' -d 'Show the version.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift validate" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift plan" detailed-exitcode' -l 'detailed-exitcode' -d 'Exit 0 when there is nothing to change and 6 when there is (see the exit codes).'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift plan" full' -l 'full' -d 'Delta jobs: read every row from Graph (a full comparison), not only the rows whose number changed.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift plan" accept-valves' -l 'accept-valves' -d 'Go on although a safety valve tripped (after checking the sheet).'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift plan" replace' -l 'replace' -d 'Replace a plan whose apply has started and not finished.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift plan" show-all' -l 'show-all' -d 'Show every change, not only the first 20.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift plan" force-unlock' -l 'force-unlock' -d 'Take the job\'s lock from a holder that is not running on this host.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift plan" v verbose' -l 'verbose' -s 'v' -d 'Log what is decided.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift plan" q quiet' -l 'quiet' -s 'q' -d 'Print only problems (warnings and errors); nothing on success.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift plan" log-format' -l 'log-format' -d 'text, or json: one JSON object per line on standard error (logs and events), for log shippers.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift plan" version' -l 'version' -d 'Show the version.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift plan" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift apply" detailed-exitcode' -l 'detailed-exitcode' -d 'Exit 0 when nothing was changed and 6 when changes were made (see the exit codes).'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift apply" accept-valves' -l 'accept-valves' -d 'Apply although the plan trips a safety valve (after checking the plan).'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift apply" retry-failed' -l 'retry-failed' -d 'Try failed rows again (rows whose number moved since the plan need a new plan).'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift apply" force-unlock' -l 'force-unlock' -d 'Take the job\'s lock from a holder that is not running on this host.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift apply" v verbose' -l 'verbose' -s 'v' -d 'Log what is decided.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift apply" q quiet' -l 'quiet' -s 'q' -d 'Print only problems (warnings and errors); nothing on success.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift apply" log-format' -l 'log-format' -d 'text, or json: one JSON object per line on standard error (logs and events), for log shippers.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift apply" version' -l 'version' -d 'Show the version.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift apply" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift run" detailed-exitcode' -l 'detailed-exitcode' -d 'Exit 0 when there was nothing to change and 6 when changes were made.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift run" full' -l 'full' -d 'Delta jobs: read every row from Graph this time (a full comparison).'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift run" accept-valves' -l 'accept-valves' -d 'Go on although a safety valve tripped (after a person checked the sheet).'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift run" force-unlock' -l 'force-unlock' -d 'Take the job\'s lock from a holder that is not running on this host.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift run" v verbose' -l 'verbose' -s 'v' -d 'Log what is decided.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift run" q quiet' -l 'quiet' -s 'q' -d 'Print only problems (warnings and errors); nothing on success.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift run" log-format' -l 'log-format' -d 'text, or json: one JSON object per line on standard error (logs and events), for log shippers.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift run" version' -l 'version' -d 'Show the version.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift run" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift status" v verbose' -l 'verbose' -s 'v' -d 'Log what is decided.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift status" q quiet' -l 'quiet' -s 'q' -d 'Print only problems (warnings and errors); nothing on success.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift status" log-format' -l 'log-format' -d 'text, or json: one JSON object per line on standard error (logs and events), for log shippers.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift status" version' -l 'version' -d 'Show the version.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift status" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift report" run' -l 'run' -d 'The apply run to report (default: the last).' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift report" output' -l 'output' -d 'Folder for the reports (default: the job\'s outputs).' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift report" v verbose' -l 'verbose' -s 'v' -d 'Log what is decided.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift report" q quiet' -l 'quiet' -s 'q' -d 'Print only problems (warnings and errors); nothing on success.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift report" log-format' -l 'log-format' -d 'text, or json: one JSON object per line on standard error (logs and events), for log shippers.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift report" version' -l 'version' -d 'Show the version.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift report" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift export" output' -l 'output' -d 'The CSV to write (default: OUTPUTS/export.csv).' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift export" masked' -l 'masked' -d 'Mask the numbers (a copy to share).'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift export" v verbose' -l 'verbose' -s 'v' -d 'Log what is decided.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift export" q quiet' -l 'quiet' -s 'q' -d 'Print only problems (warnings and errors); nothing on success.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift export" log-format' -l 'log-format' -d 'text, or json: one JSON object per line on standard error (logs and events), for log shippers.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift export" version' -l 'version' -d 'Show the version.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift export" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift readiness" output' -l 'output' -d 'The CSV to write (default: OUTPUTS/readiness.csv); the .json and .html go beside it.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift readiness" users' -l 'users' -d 'Only the users this sheet names (a UPN or object id column).' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift readiness" drafts' -l 'drafts' -d 'Also write notification drafts (.eml) telling phone-only users to register a passkey, and a helpdesk summary (needs the job\'s notify: section).'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift readiness" v verbose' -l 'verbose' -s 'v' -d 'Log what is decided.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift readiness" q quiet' -l 'quiet' -s 'q' -d 'Print only problems (warnings and errors); nothing on success.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift readiness" log-format' -l 'log-format' -d 'text, or json: one JSON object per line on standard error (logs and events), for log shippers.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift readiness" version' -l 'version' -d 'Show the version.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift readiness" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift notify" run' -l 'run' -d 'The apply run (default: the last).' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift notify" v verbose' -l 'verbose' -s 'v' -d 'Log what is decided.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift notify" q quiet' -l 'quiet' -s 'q' -d 'Print only problems (warnings and errors); nothing on success.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift notify" log-format' -l 'log-format' -d 'text, or json: one JSON object per line on standard error (logs and events), for log shippers.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift notify" version' -l 'version' -d 'Show the version.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift notify" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift rollback" run' -l 'run' -d 'The run to undo (an apply or a rollback run; `phoneshift status` shows the last).' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift rollback" dry-run' -l 'dry-run' -d 'Show what would be restored and stop.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift rollback" retry-failed' -l 'retry-failed' -d 'Try failed rows of this rollback again.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift rollback" force-unlock' -l 'force-unlock' -d 'Take the job\'s lock from a holder that is not running on this host.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift rollback" v verbose' -l 'verbose' -s 'v' -d 'Log what is decided.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift rollback" q quiet' -l 'quiet' -s 'q' -d 'Print only problems (warnings and errors); nothing on success.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift rollback" log-format' -l 'log-format' -d 'text, or json: one JSON object per line on standard error (logs and events), for log shippers.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift rollback" version' -l 'version' -d 'Show the version.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift rollback" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift verify" run' -l 'run' -d 'The run whose changes to check (default: every run of the latest plan).' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift verify" force-unlock' -l 'force-unlock' -d 'Take the job\'s lock from a holder that is not running on this host.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift verify" v verbose' -l 'verbose' -s 'v' -d 'Log what is decided.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift verify" q quiet' -l 'quiet' -s 'q' -d 'Print only problems (warnings and errors); nothing on success.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift verify" log-format' -l 'log-format' -d 'text, or json: one JSON object per line on standard error (logs and events), for log shippers.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift verify" version' -l 'version' -d 'Show the version.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift verify" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift approve" sign-with' -l 'sign-with' -d 'An SSH private key (or a public key whose private half is in ssh-agent) to sign the approval with.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift approve" comment' -l 'comment' -d 'A note kept with the approval (a change ticket number, say).' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift approve" yes' -l 'yes' -d 'Record the approval without asking (for scripts). Without it, a terminal asks; anything else is refused.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift approve" show-only' -l 'show-only' -d 'Only show the plan and its approvals; record nothing.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift approve" v verbose' -l 'verbose' -s 'v' -d 'Log what is decided.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift approve" q quiet' -l 'quiet' -s 'q' -d 'Print only problems (warnings and errors); nothing on success.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift approve" log-format' -l 'log-format' -d 'text, or json: one JSON object per line on standard error (logs and events), for log shippers.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift approve" version' -l 'version' -d 'Show the version.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift approve" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift audit" verify' -l 'verify' -d 'Check the chain.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift audit" anchor' -l 'anchor' -d 'A head hash kept elsewhere earlier: the chain must still hold an event with it.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift audit" export' -l 'export' -d 'Write every event to this file (owner-only, written whole or not at all).' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift audit" format' -l 'format' -d 'The export\'s format: jsonl (one JSON object per line) or cef (ArcSight Common Event Format).' -rfka 'jsonl cef'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift audit" v verbose' -l 'verbose' -s 'v' -d 'Log what is decided.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift audit" q quiet' -l 'quiet' -s 'q' -d 'Print only problems (warnings and errors); nothing on success.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift audit" log-format' -l 'log-format' -d 'text, or json: one JSON object per line on standard error (logs and events), for log shippers.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift audit" version' -l 'version' -d 'Show the version.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift audit" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift init" o output' -s 'o' -l 'output' -d 'The job file to write (default: phoneshift-job.yaml).' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift init" use' -l 'use' -d 'What the job is for: migration, nightly or readiness.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift init" name' -l 'name' -d 'The job\'s name (default: the job file\'s name).' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift init" region' -l 'region' -d 'The country of national numbers on rows without one (US, GB, DE, …).' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift init" phone-type' -l 'phone-type' -d 'Which phone the sheet sets: mobile, alternateMobile or office.' -rfka 'mobile alternateMobile office'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift init" user-column' -l 'user-column' -d 'The user column, when detection picks the wrong one.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift init" phone-column' -l 'phone-column' -d 'The phone column, when detection picks the wrong one.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift init" tenant-id' -l 'tenant-id' -d 'The tenant\'s id (a GUID).' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift init" client-id' -l 'client-id' -d 'The app\'s client id (a GUID), when it is registered already.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift init" cloud' -l 'cloud' -d 'The cloud: global, usgov (GCC High), usgovdod or china.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift init" authority' -l 'authority' -d 'The token endpoint\'s host, when not the cloud\'s (the bundled emulator).' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift init" graph' -l 'graph' -d 'Graph\'s base URL, when not the cloud\'s (the bundled emulator).' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift init" secret-env' -l 'secret-env' -d 'The environment variable the client secret will be in (without --certificate).' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift init" certificate' -l 'certificate' -d 'Make an RSA key and a self-signed certificate for the app (NAME.key, NAME.crt beside the job).'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift init" certificate-days' -l 'certificate-days' -d 'Days the certificate is valid.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift init" force' -l 'force' -d 'Replace a job file (or key and certificate) that is there already.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift init" yes' -l 'yes' -d 'Do not ask anything, even on a terminal (automation).'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift init" v verbose' -l 'verbose' -s 'v' -d 'Log what is decided.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift init" q quiet' -l 'quiet' -s 'q' -d 'Print only problems (warnings and errors); nothing on success.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift init" log-format' -l 'log-format' -d 'text, or json: one JSON object per line on standard error (logs and events), for log shippers.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift init" version' -l 'version' -d 'Show the version.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift init" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift doctor" json' -l 'json' -d 'One JSON object on standard output (for monitoring): every check, and the exit code.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift doctor" v verbose' -l 'verbose' -s 'v' -d 'Log what is decided.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift doctor" q quiet' -l 'quiet' -s 'q' -d 'Print only problems (warnings and errors); nothing on success.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift doctor" log-format' -l 'log-format' -d 'text, or json: one JSON object per line on standard error (logs and events), for log shippers.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift doctor" version' -l 'version' -d 'Show the version.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift doctor" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift demo" job' -l 'job' -d 'The demo job file.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift demo" directory' -l 'directory' -d 'The emulator\'s seed directory.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift demo" v verbose' -l 'verbose' -s 'v' -d 'Log what is decided.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift demo" q quiet' -l 'quiet' -s 'q' -d 'Print only problems (warnings and errors); nothing on success.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift demo" log-format' -l 'log-format' -d 'text, or json: one JSON object per line on standard error (logs and events), for log shippers.' -rfka ''
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift demo" version' -l 'version' -d 'Show the version.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift demo" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'phoneshift' -n '__phoneshift_should_offer_completions_for_flags_or_options "phoneshift help" version' -l 'version' -d 'Show the version.'
