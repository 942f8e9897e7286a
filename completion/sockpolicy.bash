# bash completion for sockpolicy(1): commands, their flags, settable
# socket option names (in -p policies), units (systemd), files and commands to run.
# The lists come from the command itself (--help, `sockpolicy options`), so
# they follow the installed version.

# The words after the option names: "tcp: SO_RCVB" completes its last part.
_sockpolicy_option_names()
{
	local cmd=$1 cur=$2 head=
	# a policy's last word starts after a space, ';', ':', or ','
	if [[ $cur == *[\ \;:,]* ]]; then
		head=${cur%[ ;:,]*}
		head=${cur:0:${#head}+1}
	fi
	local part=${cur:${#head}} names
	# only what a rule can set: NOTE "-" (not read-only, not log-only),
	# the column found by its header
	names=$("$cmd" options 2>/dev/null | awk '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == "NOTE") note = i; next }
		note && $1 ~ /^[A-Z][A-Z0-9_]*$/ && $note == "-" { print $1 }')
	local IFS=$'\n' name
	for name in $(compgen -W "$names" -- "$part"); do
		COMPREPLY+=("$head$name")
	done
	compopt -o nospace 2>/dev/null
}

# The flags a command's --help names (long and short).
_sockpolicy_flags()
{
	"$1" "$2" --help 2>/dev/null |
		grep -oE '(^|[ ,[])--?[a-zA-Z][a-zA-Z-]*(=|\[=)?' |
		sed -E 's/^[ ,[]//; s/\[=$/=/' | sort -u
}

_sockpolicy_units()
{
	local units=
	if command -v systemctl >/dev/null 2>&1; then
		units=$(systemctl list-unit-files --type=service --no-legend --no-pager 2>/dev/null |
			awk '{ print $1 }')
	fi
	if [[ -z $units ]]; then
		units=$(ls /etc/systemd/system /run/systemd/system /usr/lib/systemd/system \
			/lib/systemd/system 2>/dev/null | grep '\.service$' | sort -u)
	fi
	COMPREPLY=($(compgen -W "$units" -- "$1"))
}

_sockpolicy()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev= cmd=${COMP_WORDS[0]} sub= i
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()

	if ((COMP_CWORD == 1)); then
		local commands
		commands=$("$cmd" --help 2>/dev/null | awk '/^Commands:/ { on = 1; next }
			on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }')
		COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
		return
	fi
	sub=${COMP_WORDS[1]}

	# run/audit: after "--" or the first word that is no option, CMD and
	# its arguments, completed as a command line of their own
	if [[ $sub == run || $sub == audit ]]; then
		for ((i = 2; i <= COMP_CWORD; i++)); do
			local w=${COMP_WORDS[i]} p=${COMP_WORDS[i - 1]}
			if [[ $w == -- && i -lt COMP_CWORD ]] || { [[ $w != -* ]] && [[ $p != -[pflo] &&
				$p != --policy && $p != --file && $p != --log && $p != --output ]]; }; then
				[[ $w == -- ]] && ((i++))
				if ((i == COMP_CWORD)); then
					COMPREPLY=($(compgen -c -- "$cur"))
				elif declare -F _command_offset >/dev/null; then
					_command_offset "$i"
				else
					COMPREPLY=($(compgen -f -- "$cur"))
				fi
				return
			fi
		done
	fi

	case $prev in
	-p | --policy)
		_sockpolicy_option_names "$cmd" "$cur"
		return
		;;
	-f | --file | -o | --output)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	-l | --log)
		COMPREPLY=($(compgen -W "stderr syslog fd:" -- "$cur") $(compgen -f -- "$cur"))
		return
		;;
	--root)
		COMPREPLY=($(compgen -d -- "$cur"))
		return
		;;
	esac

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_sockpolicy_flags "$cmd" "$sub")" -- "$cur"))
		[[ ${COMPREPLY[0]} == *= ]] && compopt -o nospace 2>/dev/null
		return
	fi
	case $sub in
	systemd) _sockpolicy_units "$cur" ;;
	report) COMPREPLY=($(compgen -f -- "$cur")) ;;
	inspect | apply) COMPREPLY=($(compgen -W "$(ls /proc 2>/dev/null | grep -E '^[0-9]+$')" -- "$cur")) ;;
	esac
}
complete -F _sockpolicy sockpolicy
