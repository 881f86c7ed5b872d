#!/usr/bin/env bash
# Try the Ansible export on a demo cluster (after `bash scripts/setup.sh none` or `test`):
# three demo nodes at 1.7.0 on loopback, a saved profile "ansible-demo" for them, and the
# hop's playbooks in DIR (default ./ansible-demo). It prints the ansible-playbook command to
# run next and keeps the demo up until Enter or Ctrl+C.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(realpath -m "${1:-ansible-demo}")"
bin="$PWD/.venv/bin"
[ -x "$bin/ansible-playbook" ] || { echo "ansible-core is missing: .venv/bin/pip install -e '.[ansible]'" >&2; exit 1; }
mkdir -p "$out/nodes"
export THEMIS_DESKTOP_HOME="$out/home"  # a data folder of its own: your profiles stay as they are
port=18765 control=18700
"$bin/themis-desktop" demo-server --nodes 3 --port "$port" --control-port "$control" \
  --data-dir "$out/nodes" --data-size-mb 8 > "$out/demo.log" 2>&1 &
demo=$!
trap 'kill "$demo" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  "$bin/themis-desktop" status "http://127.0.0.1:$port" >/dev/null 2>&1 && break
  sleep 0.2
done
urls=() dirs=()
for i in 0 1 2; do
  urls+=("http://127.0.0.1:$((port + i))")
  node="$out/nodes/node-$((i + 1))"
  dirs+=(--name "node-$((i + 1))" --data-dir "$node/data" --config "$node/config.yaml")
done
"$bin/themis-desktop" profiles remove ansible-demo >/dev/null 2>&1 || true
"$bin/themis-desktop" profiles add ansible-demo "${urls[@]}" "${dirs[@]}" \
  --service demo --control-url "http://127.0.0.1:$control"
"$bin/themis-desktop" plan export --profile ansible-demo --to 1.8 --format ansible -o "$out/plays" \
  --soak 20 --interval 1 --min-samples 15
cat <<MSG

The demo cluster runs (log: $out/demo.log). In another terminal, upgrade it node by node:

  THEMIS_DESKTOP_HOME=$out/home PATH=$bin:\$PATH \\
    ansible-playbook -i $out/plays/inventory.yml $out/plays/upgrade-1.7.0-1.8.2.yml

Press Enter here to stop the demo.
MSG
read -r _ || true
