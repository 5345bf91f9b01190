# bash completion for pathkeeperctl                          -*- shell-script -*-
# Path and map names come from the running daemon (`show paths` / `show maps`,
# first column); nothing is offered when it does not answer within a second.

_pathkeeperctl_names()
{
    # $1: paths or maps. Passes the user's --socket on.
    local socket=() i
    for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
        case ${COMP_WORDS[i]} in
            --socket) socket=(--socket "${COMP_WORDS[i + 1]}") ;;
            --socket=*) socket=("${COMP_WORDS[i]}") ;;
        esac
    done
    "${COMP_WORDS[0]}" "${socket[@]}" --timeout 1 show "$1" 2>/dev/null | awk 'NR > 1 { print $1 }'
}

_pathkeeperctl()
{
    local cur prev words cword
    _init_completion || return

    case $prev in
        --socket)
            _filedir
            return
            ;;
        --timeout | --interval)
            return
            ;;
    esac

    # The command words typed so far, options left out.
    local cmd=() i skip=
    for ((i = 1; i < cword; i++)); do
        if [[ -n $skip ]]; then
            skip=
            continue
        fi
        case ${words[i]} in
            --socket | --timeout | --interval) skip=1 ;;
            -*) [[ ${words[i]} == --all ]] && cmd+=(--all) ;;
            *) cmd+=("${words[i]}") ;;
        esac
    done
    # watch takes a read command after it.
    local watching=
    if [[ ${cmd[0]} == watch ]]; then
        watching=1
        cmd=("${cmd[@]:1}")
    fi

    if [[ $cur == -* ]]; then
        local opts="--socket --json --timeout --help --version"
        [[ -n $watching ]] && opts+=" --interval"
        [[ ${cmd[*]} == "disable queueing" || ${cmd[*]} == "restore queueing" || ${cmd[*]} == "remove map" ]] &&
            opts+=" --all"
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return
    fi

    local choices=
    case ${#cmd[@]} in
        0)
            if [[ -n $watching ]]; then
                choices="show status"
            else
                choices="show status fail reinstate switch disable restore reconfigure clear remove add resize watch"
            fi
            ;;
        1)
            case ${cmd[0]} in
                show) choices="paths maps topology map path status config" ;;
                fail | reinstate) [[ -z $watching ]] && choices="path" ;;
                clear) [[ -z $watching ]] && choices="marginal" ;;
                switch) [[ -z $watching ]] && choices="group" ;;
                disable | restore) [[ -z $watching ]] && choices="queueing" ;;
                remove) [[ -z $watching ]] && choices="map path" ;;
                add) [[ -z $watching ]] && choices="path" ;;
                resize) [[ -z $watching ]] && choices="map" ;;
            esac
            ;;
        2)
            case "${cmd[0]} ${cmd[1]}" in
                "show path" | "fail path" | "reinstate path" | "remove path" | "clear marginal") choices=$(_pathkeeperctl_names paths) ;;
                "show map" | "switch group" | "resize map") choices=$(_pathkeeperctl_names maps) ;;
                "disable queueing" | "restore queueing" | "remove map") choices="--all $(_pathkeeperctl_names maps)" ;;
            esac
            ;;
    esac
    [[ -n $watching && ${cmd[0]} != show && ${#cmd[@]} -gt 0 ]] && choices=
    [[ -n $choices ]] && COMPREPLY=($(compgen -W "$choices" -- "$cur"))
} &&
    complete -F _pathkeeperctl pathkeeperctl

# ex: filetype=sh
