#!/bin/bash

__phoneshift_cursor_index_in_current_word() {
    local remaining="${COMP_LINE}"

    local word
    for word in "${COMP_WORDS[@]::COMP_CWORD}"; do
        remaining="${remaining##*([[:space:]])"${word}"*([[:space:]])}"
    done

    local -ir index="$((COMP_POINT - ${#COMP_LINE} + ${#remaining}))"
    if [[ "${index}" -le 0 ]]; then
        printf 0
    else
        printf %s "${index}"
    fi
}

# positional arguments:
#
# - 1: the current (sub)command's count of positional arguments
#
# required variables:
#
# - repeating_flags: the repeating flags that the current (sub)command can accept
# - non_repeating_flags: the non-repeating flags that the current (sub)command can accept
# - repeating_options: the repeating options that the current (sub)command can accept
# - non_repeating_options: the non-repeating options that the current (sub)command can accept
# - positional_number: value ignored
# - unparsed_words: unparsed words from the current command line
#
# modified variables:
#
# - non_repeating_flags: remove flags for this (sub)command that are already on the command line
# - non_repeating_options: remove options for this (sub)command that are already on the command line
# - positional_number: set to the current positional number
# - unparsed_words: remove all flags, options, and option values for this (sub)command
__phoneshift_offer_flags_options() {
    local -ir positional_count="${1}"
    positional_number=0

    local was_flag_option_terminator_seen=false
    local is_parsing_option_value=false

    local -ar unparsed_word_indices=("${!unparsed_words[@]}")
    local -i word_index
    for word_index in "${unparsed_word_indices[@]}"; do
        if "${is_parsing_option_value}"; then
            # This word is an option value:
            # Reset marker for next word iff not currently the last word
            [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]] && is_parsing_option_value=false
            unset "unparsed_words[${word_index}]"
            # Do not process this word as a flag or an option
            continue
        fi

        local word="${unparsed_words["${word_index}"]}"
        if ! "${was_flag_option_terminator_seen}"; then
            case "${word}" in
            --)
                unset "unparsed_words[${word_index}]"
                # by itself -- is a flag/option terminator, but if it is the last word, it is the start of a completion
                if [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]]; then
                    was_flag_option_terminator_seen=true
                fi
                continue
                ;;
            -*)
                # ${word} is a flag or an option
                # If ${word} is an option, mark that the next word to be parsed is an option value
                local option
                for option in "${repeating_options[@]}" "${non_repeating_options[@]}"; do
                    [[ "${word}" = "${option}" ]] && is_parsing_option_value=true && break
                done

                # Remove ${word} from ${non_repeating_flags} or ${non_repeating_options} so it isn't offered again
                local not_found=true
                local -i index
                for index in "${!non_repeating_flags[@]}"; do
                    if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                        unset "non_repeating_flags[${index}]"
                        non_repeating_flags=("${non_repeating_flags[@]}")
                        not_found=false
                        break
                    fi
                done
                if "${not_found}"; then
                    for index in "${!non_repeating_flags[@]}"; do
                        if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                            unset "non_repeating_flags[${index}]"
                            non_repeating_flags=("${non_repeating_flags[@]}")
                            break
                        fi
                    done
                fi
                unset "unparsed_words[${word_index}]"
                continue
                ;;
            esac
        fi

        # ${word} is neither a flag, nor an option, nor an option value
        if [[ "${positional_number}" -lt "${positional_count}" || "${positional_count}" -lt 0 ]]; then
            # ${word} is a positional
            ((positional_number++))
            unset "unparsed_words[${word_index}]"
        else
            if [[ -z "${word}" ]]; then
                # Could be completing a flag, option, or subcommand
                positional_number=-1
            else
                # ${word} is a subcommand or invalid, so stop processing this (sub)command
                positional_number=-2
            fi
            break
        fi
    done

    unparsed_words=("${unparsed_words[@]}")

    if\
        ! "${was_flag_option_terminator_seen}"\
        && ! "${is_parsing_option_value}"\
        && [[ ("${cur}" = -* && "${positional_number}" -ge 0) || "${positional_number}" -eq -1 ]]
    then
        COMPREPLY+=($(compgen -W "${repeating_flags[*]} ${non_repeating_flags[*]} ${repeating_options[*]} ${non_repeating_options[*]}" -- "${cur}"))
    fi
}

__phoneshift_add_completions() {
    local completion
    while IFS='' read -r completion; do
        COMPREPLY+=("${completion}")
    done < <(IFS=$'\n' compgen "${@}" -- "${cur}")
}

__phoneshift_custom_complete() {
    if [[ -n "${cur}" || -z ${COMP_WORDS[${COMP_CWORD}]} || "${COMP_LINE:${COMP_POINT}:1}" != ' ' ]]; then
        local -ar words=("${COMP_WORDS[@]}")
    else
        local -ar words=("${COMP_WORDS[@]::${COMP_CWORD}}" '' "${COMP_WORDS[@]:${COMP_CWORD}}")
    fi

    "${COMP_WORDS[0]}" "${@}" "${words[@]}"
}

_phoneshift() {
    local state
    state="$(shopt -p;shopt -po)"
    trap "${state//$'\n'/;}" RETURN
    shopt -s extglob
    set +o history +o posix

    local -xr SAP_SHELL=bash
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(IFS='.';printf %s "${BASH_VERSINFO[*]}")"
    local -r SAP_SHELL_VERSION

    local -r cur="${2}"
    local -r prev="${3}"

    local -i positional_number
    local -a unparsed_words=("${COMP_WORDS[@]:1:${COMP_CWORD}}")

    local -a repeating_flags=()
    local -a non_repeating_flags=(--version -h --help)
    local -a repeating_options=()
    local -a non_repeating_options=()
    __phoneshift_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    validate|plan|apply|run|status|report|export|readiness|notify|rollback|verify|approve|audit|init|doctor|demo|help)
        # Offer subcommand argument completions
        "_phoneshift_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'validate plan apply run status report export readiness notify rollback verify approve audit init doctor demo help' -- "${cur}"))
        ;;
    esac
}

_phoneshift_validate() {
    repeating_flags=()
    non_repeating_flags=(--json --strict --verbose -v --quiet -q --version -h --help)
    repeating_options=()
    non_repeating_options=(--output -o --user-column --phone-column --region-column --region --phone-type --worksheet --delimiter --encoding --workers --log-format)
    __phoneshift_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--output'|'-o')
        return
        ;;
    '--user-column')
        return
        ;;
    '--phone-column')
        return
        ;;
    '--region-column')
        return
        ;;
    '--region')
        return
        ;;
    '--phone-type')
        __phoneshift_add_completions -W 'mobile'$'\n''alternateMobile'$'\n''office'
        return
        ;;
    '--worksheet')
        return
        ;;
    '--delimiter')
        return
        ;;
    '--encoding')
        return
        ;;
    '--workers')
        return
        ;;
    '--log-format')
        return
        ;;
    esac
}

_phoneshift_plan() {
    repeating_flags=()
    non_repeating_flags=(--detailed-exitcode --full --accept-valves --replace --show-all --force-unlock --verbose -v --quiet -q --version -h --help)
    repeating_options=()
    non_repeating_options=(--log-format)
    __phoneshift_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--log-format')
        return
        ;;
    esac
}

_phoneshift_apply() {
    repeating_flags=()
    non_repeating_flags=(--detailed-exitcode --accept-valves --retry-failed --force-unlock --verbose -v --quiet -q --version -h --help)
    repeating_options=()
    non_repeating_options=(--log-format)
    __phoneshift_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--log-format')
        return
        ;;
    esac
}

_phoneshift_run() {
    repeating_flags=()
    non_repeating_flags=(--detailed-exitcode --full --accept-valves --force-unlock --verbose -v --quiet -q --version -h --help)
    repeating_options=()
    non_repeating_options=(--log-format)
    __phoneshift_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--log-format')
        return
        ;;
    esac
}

_phoneshift_status() {
    repeating_flags=()
    non_repeating_flags=(--verbose -v --quiet -q --version -h --help)
    repeating_options=()
    non_repeating_options=(--log-format)
    __phoneshift_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--log-format')
        return
        ;;
    esac
}

_phoneshift_report() {
    repeating_flags=()
    non_repeating_flags=(--verbose -v --quiet -q --version -h --help)
    repeating_options=()
    non_repeating_options=(--run --output --log-format)
    __phoneshift_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--run')
        return
        ;;
    '--output')
        return
        ;;
    '--log-format')
        return
        ;;
    esac
}

_phoneshift_export() {
    repeating_flags=()
    non_repeating_flags=(--masked --verbose -v --quiet -q --version -h --help)
    repeating_options=()
    non_repeating_options=(--output --log-format)
    __phoneshift_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--output')
        return
        ;;
    '--log-format')
        return
        ;;
    esac
}

_phoneshift_readiness() {
    repeating_flags=()
    non_repeating_flags=(--drafts --verbose -v --quiet -q --version -h --help)
    repeating_options=()
    non_repeating_options=(--output --users --log-format)
    __phoneshift_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--output')
        return
        ;;
    '--users')
        return
        ;;
    '--log-format')
        return
        ;;
    esac
}

_phoneshift_notify() {
    repeating_flags=()
    non_repeating_flags=(--verbose -v --quiet -q --version -h --help)
    repeating_options=()
    non_repeating_options=(--run --log-format)
    __phoneshift_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--run')
        return
        ;;
    '--log-format')
        return
        ;;
    esac
}

_phoneshift_rollback() {
    repeating_flags=()
    non_repeating_flags=(--dry-run --retry-failed --force-unlock --verbose -v --quiet -q --version -h --help)
    repeating_options=()
    non_repeating_options=(--run --log-format)
    __phoneshift_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--run')
        return
        ;;
    '--log-format')
        return
        ;;
    esac
}

_phoneshift_verify() {
    repeating_flags=()
    non_repeating_flags=(--force-unlock --verbose -v --quiet -q --version -h --help)
    repeating_options=()
    non_repeating_options=(--run --log-format)
    __phoneshift_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--run')
        return
        ;;
    '--log-format')
        return
        ;;
    esac
}

_phoneshift_approve() {
    repeating_flags=()
    non_repeating_flags=(--yes --show-only --verbose -v --quiet -q --version -h --help)
    repeating_options=()
    non_repeating_options=(--sign-with --comment --log-format)
    __phoneshift_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--sign-with')
        return
        ;;
    '--comment')
        return
        ;;
    '--log-format')
        return
        ;;
    esac
}

_phoneshift_audit() {
    repeating_flags=()
    non_repeating_flags=(--verify --verbose -v --quiet -q --version -h --help)
    repeating_options=()
    non_repeating_options=(--anchor --export --format --log-format)
    __phoneshift_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--anchor')
        return
        ;;
    '--export')
        return
        ;;
    '--format')
        __phoneshift_add_completions -W 'jsonl'$'\n''cef'
        return
        ;;
    '--log-format')
        return
        ;;
    esac
}

_phoneshift_init() {
    repeating_flags=()
    non_repeating_flags=(--certificate --force --yes --verbose -v --quiet -q --version -h --help)
    repeating_options=()
    non_repeating_options=(-o --output --use --name --region --phone-type --user-column --phone-column --tenant-id --client-id --cloud --authority --graph --secret-env --certificate-days --log-format)
    __phoneshift_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '-o'|'--output')
        return
        ;;
    '--use')
        return
        ;;
    '--name')
        return
        ;;
    '--region')
        return
        ;;
    '--phone-type')
        __phoneshift_add_completions -W 'mobile'$'\n''alternateMobile'$'\n''office'
        return
        ;;
    '--user-column')
        return
        ;;
    '--phone-column')
        return
        ;;
    '--tenant-id')
        return
        ;;
    '--client-id')
        return
        ;;
    '--cloud')
        return
        ;;
    '--authority')
        return
        ;;
    '--graph')
        return
        ;;
    '--secret-env')
        return
        ;;
    '--certificate-days')
        return
        ;;
    '--log-format')
        return
        ;;
    esac
}

_phoneshift_doctor() {
    repeating_flags=()
    non_repeating_flags=(--json --verbose -v --quiet -q --version -h --help)
    repeating_options=()
    non_repeating_options=(--log-format)
    __phoneshift_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--log-format')
        return
        ;;
    esac
}

_phoneshift_demo() {
    repeating_flags=()
    non_repeating_flags=(--verbose -v --quiet -q --version -h --help)
    repeating_options=()
    non_repeating_options=(--job --directory --log-format)
    __phoneshift_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--job')
        return
        ;;
    '--directory')
        return
        ;;
    '--log-format')
        return
        ;;
    esac
}

_phoneshift_help() {
    repeating_flags=()
    non_repeating_flags=(--version)
    repeating_options=()
    non_repeating_options=()
    __phoneshift_offer_flags_options -1
}

complete -o filenames -F _phoneshift phoneshift
