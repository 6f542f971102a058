#!/usr/bin/env bash
# From a fresh Debian 12 machine to a running llmqd doing real work: installs what
# is missing, builds, starts llmqd in the foreground with its socket and database
# in ./.llmq-demo/, and runs a demo job on the built-in mock provider (no API key,
# no network) so you see tokens stream. Ctrl-C stops the daemon.
# LLMQ_DEMO_EXIT=1 stops it after the demo instead of staying in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/bootstrap.sh
./scripts/build.sh release

demo_dir="$PWD/.llmq-demo"
mkdir -p "$demo_dir"
export LLMQ_SOCKET="$demo_dir/llmqd.sock"
export LLMQ_DB="$demo_dir/llmq.db"
llmq="$PWD/build/llmq"

http="127.0.0.1:${LLMQ_DEMO_HTTP_PORT:-8088}"
echo "== starting llmqd (socket $LLMQ_SOCKET, database $LLMQ_DB, OpenAI-compatible API on http://$http/v1)"
./build/llmqd --config /dev/null --http="$http" &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null || true; wait $daemon 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  [[ -S $LLMQ_SOCKET ]] && break
  sleep 0.05
done

echo "== a streamed job on mock/demo"
"$llmq" submit --stream --model mock/demo --max-tokens 40 \
  "Explain in one paragraph why a local LLM job queue should be durable."
echo "== three more jobs from two clients, then the queue"
"$llmq" submit --client pipeline --priority 5 "Summarise the release notes" >/dev/null
"$llmq" submit --client pipeline "Translate the changelog" >/dev/null
"$llmq" submit --client agent --wait "What time is it?" >/dev/null
echo "== the same queue through the OpenAI-compatible HTTP API (token in $demo_dir/api.token)"
curl -sN "http://$http/v1/chat/completions" -H "Authorization: Bearer $(cat "$demo_dir/api.token")" \
  -H 'Content-Type: application/json' -H 'X-Llmq-Client: curl' \
  -d '{"model":"mock/demo","messages":[{"role":"user","content":"Say hello over HTTP"}],"max_tokens":12,"stream":true}' \
  | grep -o '"content":"[^"]*"' | sed 's/"content":"//; s/"$//' | tr -d '\n'
echo
sleep 1
"$llmq" list
"$llmq" status

if [[ ${LLMQ_DEMO_EXIT:-0} == 1 ]]; then
  exit 0
fi
echo "== llmqd keeps running in the foreground; in another shell:"
echo "     export LLMQ_SOCKET=$LLMQ_SOCKET; $llmq submit --stream 'hello'"
echo "   or point an OpenAI SDK at http://$http/v1 with the key in $demo_dir/api.token"
echo "   Ctrl-C to stop it."
trap - EXIT
trap 'kill -TERM $daemon 2>/dev/null || true' INT TERM
wait $daemon
