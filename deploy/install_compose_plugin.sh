#!/usr/bin/env bash
# Install the Docker Compose v2 CLI plugin without needing a Docker engine.
#
# Why: `docker compose config` (validating/rendering compose.yaml) only needs
# the compose plugin, not a running engine. Dev and CI machines may have the
# docker CLI but no compose plugin, and no way to download release binaries,
# so we build the plugin from source through the Go module proxy.
#
# Idempotent:
#   1. if `docker compose version` already works -> nothing to do;
#   2. else build once into a versioned cache dir (skipped when present);
#   3. symlink it as ${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins/docker-compose.
#
# This is optional tooling: every failure path prints why and exits 0, so
# callers (CI, bootstrap scripts) never break because of it.
#
# Env:
#   LEDGERLINE_SERVICES__CACHE_DIR  cache root (default ~/.cache/ledgerline)
#   COMPOSE_VERSION                 compose release tag (default v2.40.3)
set -uo pipefail

COMPOSE_VERSION="${COMPOSE_VERSION:-v2.40.3}"
COMPOSE_MODULE="github.com/docker/compose/v2"
# The module's main package is ./cmd (upstream Makefile: `go build ... ./cmd`).
COMPOSE_MAIN="./cmd"
CACHE_ROOT="${LEDGERLINE_SERVICES__CACHE_DIR:-$HOME/.cache/ledgerline}"
BIN_DIR="${CACHE_ROOT}/bin/compose-${COMPOSE_VERSION}"
BUILT_BIN="${BIN_DIR}/docker-compose"
PLUGIN_DIR="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
PLUGIN="${PLUGIN_DIR}/docker-compose"

log() { printf '[compose-plugin] %s\n' "$*"; }
give_up() {
    log "WARNING: $*"
    log "compose plugin NOT installed; 'docker compose' commands will be unavailable (optional tooling, continuing)."
    exit 0
}

if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
    log "already available: $(docker compose version 2>/dev/null | head -n1)"
    exit 0
fi
command -v docker >/dev/null 2>&1 \
    || log "note: docker CLI not found; the plugin binary will still be installed"

if [[ -x "${BUILT_BIN}" ]]; then
    log "using cached build ${BUILT_BIN}"
else
    command -v go >/dev/null 2>&1 || give_up "Go toolchain not found (need Go >= 1.24 to build compose ${COMPOSE_VERSION})"
    mkdir -p "${BIN_DIR}" || give_up "cannot create ${BIN_DIR}"
    log "building ${COMPOSE_MODULE}/cmd@${COMPOSE_VERSION} with $(go version | awk '{print $3}') (~1.5 min on 2 cores with cold Go caches)..."
    start=${SECONDS}
    # `go install github.com/docker/compose/v2/cmd@VERSION` is refused by Go:
    # compose's go.mod has `exclude` directives, which `go install pkg@version`
    # rejects. So fetch the module source through the module proxy and build
    # it as the main module, the way upstream's Makefile does.
    # GOTOOLCHAIN=local: never try to download another Go toolchain.
    export GOTOOLCHAIN=local
    work="$(mktemp -d)" || give_up "mktemp failed"
    trap 'rm -rf "${work}"' EXIT
    src="$(cd "${work}" && go mod download -json "${COMPOSE_MODULE}@${COMPOSE_VERSION}" \
        | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
    [[ -n "${src}" && -d "${src}" ]] || give_up "could not download ${COMPOSE_MODULE}@${COMPOSE_VERSION} from the Go module proxy"
    # The module cache is read-only; build from a writable copy.
    if ! { cp -R "${src}" "${work}/src" && chmod -R u+w "${work}/src"; }; then
        give_up "cannot copy compose sources to ${work}/src"
    fi
    # CGO_ENABLED=0: static binary, like upstream releases; no C toolchain needed.
    # -X internal.Version: otherwise `docker compose version` reports "dev".
    # Build to a temp name and rename, so an interrupted build never leaves a
    # half-written binary that the cache check above would trust.
    if ! (cd "${work}/src" && CGO_ENABLED=0 go build -mod=readonly -buildvcs=false -trimpath \
            -ldflags "-s -w -X ${COMPOSE_MODULE}/internal.Version=${COMPOSE_VERSION}" \
            -o "${BUILT_BIN}.tmp" "${COMPOSE_MAIN}"); then
        rm -f "${BUILT_BIN}.tmp"
        give_up "go build of ${COMPOSE_MODULE}@${COMPOSE_VERSION} failed (see output above)"
    fi
    mv -f "${BUILT_BIN}.tmp" "${BUILT_BIN}" || give_up "cannot move built binary into ${BIN_DIR}"
    [[ -x "${BUILT_BIN}" ]] || give_up "build reported success but ${BUILT_BIN} is missing"
    log "built in $((SECONDS - start))s -> ${BUILT_BIN}"
fi

mkdir -p "${PLUGIN_DIR}" || give_up "cannot create ${PLUGIN_DIR}"
chmod +x "${BUILT_BIN}"
ln -sfn "${BUILT_BIN}" "${PLUGIN}" || give_up "cannot link ${PLUGIN}"
log "installed ${PLUGIN} -> ${BUILT_BIN}"

if command -v docker >/dev/null 2>&1; then
    if out="$(docker compose version 2>&1)"; then
        log "ok: ${out}"
    else
        give_up "plugin installed but 'docker compose version' fails: ${out}"
    fi
else
    log "ok: $("${BUILT_BIN}" version 2>&1 | head -n1)"
fi
