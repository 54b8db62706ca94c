# Shared by the scripts/ensure-*.sh helpers (sourced, not run). Each sets NAME before sourcing.

log() { echo "${NAME:-ci}: $*" >&2; }

is_ci() {
    local ci="${CI:-}"
    [[ "${ci,,}" == "true" || "$ci" == "1" ]]
}

# Run a privileged command: directly as root, through non-interactive sudo otherwise.
as_root() {
    if [[ "$(id -u)" == 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        log "not root and no sudo: cannot run: $*"
        return 1
    fi
}
