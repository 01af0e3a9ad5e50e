# fish completion for tidings(1): commands, options, the accounts of the configuration and
# the folders an account has synced (asked of tidings itself: `tidings complete ...`).

function __tidings_words
    set -l cmd (commandline -opc)
    set -l config
    set -l i (contains -i -- --config $cmd)
    and set config --config $cmd[(math $i + 1)]
    $cmd[1] $config complete $argv 2>/dev/null
end

function __tidings_named_accounts
    set -l cmd (commandline -opc)
    set -l i (contains -i -- sync $cmd); or return
    set -l prev
    for w in $cmd[(math $i + 1)..-1]
        if not string match -q -- '-*' $w; and not contains -- "$prev" -f --folder
            echo $w
        end
        set prev $w
    end
end

set -l commands sync daemon status watch check-config import password oauth2
complete -c tidings -f
complete -c tidings -n "not __fish_seen_subcommand_from $commands" -l config -r -F -d 'Use this configuration file'
complete -c tidings -n "not __fish_seen_subcommand_from $commands" -l version -d 'Print the version'
complete -c tidings -n "not __fish_seen_subcommand_from $commands" -a sync -d 'Sync every account, or the ones named'
complete -c tidings -n "not __fish_seen_subcommand_from $commands" -a daemon -d 'Keep every account in sync in the background'
complete -c tidings -n "not __fish_seen_subcommand_from $commands" -a status -d "Show the daemon's accounts"
complete -c tidings -n "not __fish_seen_subcommand_from $commands" -a watch -d "Print the daemon's events"
complete -c tidings -n "not __fish_seen_subcommand_from $commands" -a check-config -d 'Validate the configuration'
complete -c tidings -n "not __fish_seen_subcommand_from $commands" -a import -d "Make a configuration from mbsync's"
complete -c tidings -n "not __fish_seen_subcommand_from $commands" -a password -d 'Store, remove or try a password'
complete -c tidings -n "not __fish_seen_subcommand_from $commands" -a oauth2 -d 'Sign an account in with its OAuth2 provider'

complete -c tidings -n '__fish_seen_subcommand_from sync' -a '(__tidings_words accounts)' -d account
complete -c tidings -n '__fish_seen_subcommand_from sync' -s f -l folder -x -a '(__tidings_words folders (__tidings_named_accounts))' -d 'Sync only folders matching PATTERN'
complete -c tidings -n '__fish_seen_subcommand_from sync' -s n -l dry-run -d 'Print what a sync would do'
complete -c tidings -n '__fish_seen_subcommand_from sync' -s q -l quiet -d 'Print only errors'
complete -c tidings -n '__fish_seen_subcommand_from sync' -s v -l verbose -d 'Print every folder and the protocol exchange'
complete -c tidings -n '__fish_seen_subcommand_from sync' -l json -d 'Print the summary as JSON'
complete -c tidings -n '__fish_seen_subcommand_from sync' -l force -d 'Let the deletion guard through'
complete -c tidings -n '__fish_seen_subcommand_from sync' -l prune-folders -d 'Delete folders deleted on the other side'
complete -c tidings -n '__fish_seen_subcommand_from sync' -l local -d 'Sync in this process even when the daemon runs'
complete -c tidings -n '__fish_seen_subcommand_from status' -l json -d 'Print JSON'
complete -c tidings -n '__fish_seen_subcommand_from password; and not __fish_seen_subcommand_from set clear check' -a 'set clear check'
complete -c tidings -n '__fish_seen_subcommand_from set clear check' -a '(__tidings_words accounts)' -d account
complete -c tidings -n '__fish_seen_subcommand_from oauth2; and not __fish_seen_subcommand_from login' -a login
complete -c tidings -n '__fish_seen_subcommand_from login' -a '(__tidings_words accounts)' -d account
complete -c tidings -n '__fish_seen_subcommand_from oauth2' -l device -d 'Sign in with a code typed in on another device'
complete -c tidings -n '__fish_seen_subcommand_from oauth2' -l no-browser -d 'Print the sign-in address without opening it'
