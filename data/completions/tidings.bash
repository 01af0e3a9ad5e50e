# bash completion for tidings(1): commands, options, the accounts of the configuration and
# the folders an account has synced (asked of tidings itself: `tidings complete ...`).

_tidings_words()
{
    # The command as typed, with the --config given on the line, if any.
    local -a config=()
    local i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            --config) config=(--config "${COMP_WORDS[i + 1]}") ;;
            --config=*) config=("${COMP_WORDS[i]}") ;;
        esac
    done
    "${COMP_WORDS[0]}" "${config[@]}" complete "$@" 2>/dev/null
}

_tidings()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local cmd="" at=0 i IFS=$'\n'
    COMPREPLY=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            --config) ((i++)) ;;
            -*) ;;
            *) cmd=${COMP_WORDS[i]}; at=$i; break ;;
        esac
    done
    if [[ -z $cmd ]]; then
        if [[ $prev == --config ]]; then
            COMPREPLY=($(compgen -f -- "$cur"))
        elif [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W $'--config\n--version\n--help' -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$(_tidings_words commands)" -- "$cur"))
        fi
        return
    fi
    case $cmd in
        sync)
            if [[ $prev == -f || $prev == --folder ]]; then
                local -a accounts=()
                for ((i = at + 1; i < COMP_CWORD; i++)); do
                    case ${COMP_WORDS[i - 1]} in -f | --folder) continue ;; esac
                    [[ ${COMP_WORDS[i]} == -* ]] || accounts+=("${COMP_WORDS[i]}")
                done
                COMPREPLY=($(compgen -W "$(_tidings_words folders "${accounts[@]}")" -- "$cur"))
            elif [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W $'--folder\n--dry-run\n--quiet\n--verbose\n--json\n--force\n--prune-folders\n--local\n--help' -- "$cur"))
            else
                COMPREPLY=($(compgen -W "$(_tidings_words accounts)" -- "$cur"))
            fi
            ;;
        status)
            COMPREPLY=($(compgen -W $'--json\n--help' -- "$cur"))
            ;;
        password)
            if ((COMP_CWORD == at + 1)); then
                COMPREPLY=($(compgen -W $'set\nclear\ncheck' -- "$cur"))
            elif ((COMP_CWORD == at + 2)); then
                COMPREPLY=($(compgen -W "$(_tidings_words accounts)" -- "$cur"))
            fi
            ;;
        oauth2)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W $'--device\n--no-browser\n--help' -- "$cur"))
            elif ((COMP_CWORD == at + 1)); then
                COMPREPLY=($(compgen -W 'login' -- "$cur"))
            elif ((COMP_CWORD == at + 2)); then
                COMPREPLY=($(compgen -W "$(_tidings_words accounts)" -- "$cur"))
            fi
            ;;
        *)
            COMPREPLY=($(compgen -W '--help' -- "$cur"))
            ;;
    esac
}

complete -F _tidings tidings
