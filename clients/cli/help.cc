// Help pages. Every command page is followed by the global options line, since
// --socket and --json are accepted before or after any subcommand.
#include "clients/cli/help.h"

namespace llmq::cli {
namespace {

constexpr char kGlobalsFooter[] =
    "\nGlobal options (before or after the command): --socket PATH, --json, -h/--help.\n";

}  // namespace

namespace help {

const char kSubmit[] =
    "usage: llmq submit [options] [PROMPT... | -]\n"
    "\n"
    "Queue a chat completion. The prompt is the arguments joined by spaces, or stdin\n"
    "when there are none or the only one is \"-\".\n"
    "\n"
    "  --model MODEL            model to ask (default $LLMQ_MODEL, else mock/demo);\n"
    "                           may be an alias or chain:NAME\n"
    "  --route NAME             let a routing rule of llmqd's config pick the model\n"
    "                           (instead of --model)\n"
    "  --system TEXT            system message before the prompt\n"
    "  --max-tokens N           cap the answer's length\n"
    "  --request-json FILE|-    send this chat-completions body instead of building one\n"
    "                           (--model, --route and --stream still apply to it)\n"
    "  --priority N             -1000..1000, higher runs first (default 0)\n"
    "  --tag TAG                label the job; repeatable\n"
    "  --client NAME            fair-share client name (default: your user name)\n"
    "  --idempotency-key KEY    a repeat submit with KEY returns the first job\n"
    "  --max-attempts N         1..100 (default 4)\n"
    "  --timeout S              seconds per attempt\n"
    "  --deadline S             seconds for the whole job, after which it expires\n"
    "  --on-restart requeue|fail  if llmqd dies while the job runs (default requeue)\n"
    "  --fallback MODEL         try MODEL after the model's attempts fail; repeatable\n"
    "  --provider NAME          run only at this provider (its models only)\n"
    "  --cache, --no-cache      opt in to, or out of, llmqd's response cache\n"
    "  --response-format json_object|FILE|-\n"
    "                           ask for JSON: json_object, or a response_format object\n"
    "                           (e.g. a strict json_schema) read from FILE\n"
    "  --api-key-file FILE|-    bring your own OpenRouter key for this job, read from\n"
    "                           FILE (never on the command line, where ps shows it)\n"
    "  --request-id ID          sent upstream as X-Request-Id with each attempt\n"
    "  --fail-when-cooling      fail at once when every model's breaker is open\n"
    "  --cancel-on-disconnect   cancel the job if this command goes away first\n"
    "  --wait                   wait for the job to end and print its answer\n"
    "  --stream                 stream the answer to stdout as it is written\n"
    "\n"
    "Prints the job id, or with --wait/--stream the answer; exits 1 if the job fails,\n"
    "is cancelled or expires. With --json: the submit result, the job (--wait), or\n"
    "one event per line (--stream).\n";

const char kGet[] =
    "usage: llmq get JOB_ID\n"
    "\n"
    "Show one job: its fields, then its answer if it succeeded.\n"
    "With --json: the job object.\n";

const char kList[] =
    "usage: llmq list [--state STATE] [--client NAME] [--tag TAG] [--limit N] [--all]\n"
    "\n"
    "List jobs, newest first.\n"
    "\n"
    "  --state STATE   queued, running, retry_wait, held, succeeded, failed,\n"
    "                  cancelled or expired\n"
    "  --client NAME   only this client's jobs\n"
    "  --tag TAG       only jobs with this tag\n"
    "  --limit N       at most N jobs, 1..1000 (default 100); with --all, the page size\n"
    "  --all           every matching job, fetched page by page\n"
    "\n"
    "Times are UTC. With --json: {\"jobs\":[...],\"next_cursor\":...} on one line.\n";

const char kCancel[] =
    "usage: llmq cancel JOB_ID...\n"
    "\n"
    "Cancel jobs; a running attempt is aborted at once. Exits 1 if any could not be\n"
    "cancelled (e.g. it had already finished). With --json: each job, one per line.\n";

const char kRetry[] =
    "usage: llmq retry JOB_ID...\n"
    "\n"
    "Queue failed, cancelled or expired jobs again, with a fresh set of attempts.\n"
    "Exits 1 if any could not be retried. With --json: each job, one per line.\n";

const char kWatch[] =
    "usage: llmq watch [--job ID | --client NAME | --tag TAG | --all] [--events E,E...]\n"
    "\n"
    "Print job events as they happen, one line each: time (UTC), job, event, details.\n"
    "Runs until interrupted; with --job, until that job ends.\n"
    "\n"
    "  --job ID        one job's events\n"
    "  --client NAME   events of this client's jobs\n"
    "  --tag TAG       events of jobs with this tag\n"
    "  --all           every job's events (the default)\n"
    "  --events LIST   only these: queued, started, message_chunk, usage,\n"
    "                  final_response, retrying, error, cancelled, expired, held,\n"
    "                  budget_alert\n"
    "\n"
    "With --json: each notification's params, one per line.\n";

const char kStatus[] =
    "usage: llmq status\n"
    "\n"
    "Show the daemon's version, uptime, queue counts, in-flight work, pause state and\n"
    "connections. With --json: the daemon.status object.\n";

const char kKeys[] =
    "usage: llmq keys\n"
    "       llmq keys reset [NAME]\n"
    "\n"
    "Show which key jobs without their own key use, and the health of each server\n"
    "key (OPENROUTER_API_KEYS, OPENROUTER_API_KEY) by fingerprint: ok, cooldown,\n"
    "exhausted or invalid. With --json: the keys.status object.\n"
    "\n"
    "Keys are used in this order: a job's own api_key (BYOK), then the pool\n"
    "(OPENROUTER_API_KEYS, round-robin), then OPENROUTER_API_KEY only once every\n"
    "pool key is exhausted or invalid. An exhausted (402) or invalid (401) key gets\n"
    "no requests until `llmq keys reset` (administrators only) puts it back:\n"
    "NAME is a key's name (pool-1, server) or fingerprint; without it, every key.\n";

const char kBreakers[] =
    "usage: llmq breakers reset [MODEL]\n"
    "\n"
    "Close the circuit breaker of MODEL (a model, or provider/model as `llmq status`\n"
    "shows it), or every breaker, so jobs go to it again at once instead of after\n"
    "the cooldown. Administrators only.\n";

const char kModels[] =
    "usage: llmq models [--filter TEXT] [--refresh]\n"
    "       llmq models --stats [--window S]\n"
    "\n"
    "Show the models llmqd knows and what they cost: context length and prices in\n"
    "USD per million prompt and completion tokens (\"free\" for free models, \"-\"\n"
    "when unknown). SOURCE says where the price comes from: config ([[prices]]),\n"
    "fetched (OpenRouter's model list), builtin (llmqd's own list, used until a\n"
    "fetch succeeds) or mock.\n"
    "\n"
    "  --filter TEXT   only models whose id contains TEXT (any case)\n"
    "  --refresh       fetch OpenRouter's model list first; exits 1 if that fails\n"
    "  --stats         instead, how each provider and model performed (administrators):\n"
    "                  requests, success rate, latency p50/p95/p99, time to first\n"
    "                  token, USD per 1,000 tokens (models.stats)\n"
    "  --window S      the seconds --stats covers (default 3600)\n"
    "\n"
    "With --json: the models.list object, or with --stats the models.stats object\n"
    "(its days too).\n";

const char kUsage[] =
    "usage: llmq usage [--by DIMS] [--since TIME | --days N] [--until TIME] [--csv]\n"
    "\n"
    "Show what was spent: requests, tokens and cost from llmqd's ledger, grouped\n"
    "by DIMS (a comma list of model, client, key, tag, day), with a TOTAL line.\n"
    "With --by day alone, also a bar chart of the cost per day.\n"
    "\n"
    "  --by DIMS       e.g. --by model or --by day,client (default: totals only)\n"
    "  --since TIME    a date (2026-11-01, UTC) or an RFC 3339 time; inclusive\n"
    "  --until TIME    the same; exclusive\n"
    "  --days N        the last N UTC days, today included\n"
    "  --csv           comma-separated values with a header line, for spreadsheets\n"
    "\n"
    "With --json: the usage.report object.\n";

const char kBudget[] =
    "usage: llmq budget list\n"
    "       llmq budget set SCOPE PERIOD LIMIT_USD [--alert F,F] [--action reject|hold]\n"
    "       llmq budget delete SCOPE PERIOD\n"
    "\n"
    "Budgets that llmqd never lets spending pass. SCOPE is global, client:NAME,\n"
    "key:NAME, model:ID or tag:T; PERIOD is day, week, month or total (calendar\n"
    "periods in llmqd's [budgets] time_zone). At the limit, reject fails new jobs\n"
    "with BUDGET_EXCEEDED; hold keeps them in `held` until the period resets or the\n"
    "limit is raised. --alert sends a budget_alert event when spending crosses each\n"
    "fraction of the limit, once per period.\n"
    "\n"
    "  llmq budget set client:nightly day 20 --alert 0.5,0.9 --action hold\n"
    "\n"
    "With --json: the budget object(s).\n";

const char kDb[] =
    "usage: llmq db backup FILE\n"
    "\n"
    "Back up llmqd's database into FILE (which must not exist) while llmqd keeps\n"
    "serving, with SQLite's online backup API. FILE is written by llmqd, so it must\n"
    "be a place llmqd may write to. To restore: stop llmqd and put FILE in place of\n"
    "its database (llmq status shows where that is). With --json: the db.backup\n"
    "result {path, bytes, pages, duration_ms}.\n";

const char kPause[] =
    "usage: llmq pause [--client NAME]\n"
    "\n"
    "Stop starting new jobs, for the whole queue or one client. Running jobs go on;\n"
    "the pause survives daemon restarts. With --json: the queue state.\n";

const char kResume[] =
    "usage: llmq resume [--client NAME]\n"
    "\n"
    "Undo `llmq pause` for the whole queue or one client. With --json: the queue\n"
    "state.\n";

const char kBatch[] =
    "usage: llmq batch submit FILE.jsonl [--tag TAG] [--priority N] [--client NAME]\n"
    "                         [--max-attempts N] [--skip-invalid] [--no-wait]\n"
    "       llmq batch status TAG [--input FILE.jsonl]\n"
    "       llmq batch results TAG [--input FILE.jsonl] [-o OUT.jsonl]\n"
    "\n"
    "Run an OpenAI Batch input file through llmqd (docs/batch.md). Each line is\n"
    "{\"custom_id\", \"method\": \"POST\", \"url\": \"/v1/chat/completions\", \"body\"};\n"
    "a line with \"url\": \"/v1/embeddings\" is an embeddings request, with\n"
    "\"/v1/responses\" a Responses API request.\n"
    "\n"
    "submit checks every line first: invalid lines (bad JSON, another url, a repeated\n"
    "custom_id, a body without model or messages) are listed with their numbers and\n"
    "nothing is submitted, unless --skip-invalid. Then each line becomes a job tagged\n"
    "TAG with the idempotency key batch:TAG:CUSTOM_ID, so running the same command\n"
    "again (after a crash, Ctrl-C, or to follow the batch) submits no line twice.\n"
    "It then waits for every job to end, with a progress bar on a terminal (done,\n"
    "failures, rate, ETA, spend), and prints the batch's status.\n"
    "\n"
    "  --tag TAG          name of the batch (default: FILE's name without its\n"
    "                     directory and .jsonl, e.g. runs/eval-17.jsonl -> eval-17)\n"
    "  --priority N       -1000..1000 for every job (default 0)\n"
    "  --client NAME      fair-share client of the jobs (default: your user name)\n"
    "  --max-attempts N   1..100 per job\n"
    "  --skip-invalid     submit the valid lines even if some are not\n"
    "  --no-wait          return once every line is submitted\n"
    "  --window N         requests in flight while submitting, 1..4096 (default 256)\n"
    "\n"
    "status shows the batch's jobs by state, done/total and the spend; with --input\n"
    "also the lines not submitted yet. results writes OpenAI Batch output lines\n"
    "{id, custom_id, response: {status_code, request_id, body}, error} for the jobs\n"
    "that have ended (failures with response null and error {code, message}) to\n"
    "OUT.jsonl or stdout: in the order of --input's lines, else in job order.\n"
    "\n"
    "Exit status: submit 0 when every job succeeded (or, with --no-wait, was\n"
    "submitted), 1 when a job failed or llmqd refused a line, 2 for invalid lines;\n"
    "results 1 when a job has not ended or a line of --input has no job.\n"
    "With --json: status and submit print the status object.\n";

}  // namespace help

namespace {

constexpr char kTopLevelHelp[] =
    "usage: llmq [--socket PATH] [--json] COMMAND [ARGS...]\n"
    "\n"
    "Talk to llmqd, the local LLM job queue.\n"
    "\n"
    "Commands:\n"
    "  submit [PROMPT]     queue a chat completion (--wait, --stream to get the answer)\n"
    "  get JOB_ID          show a job and its answer\n"
    "  list                list jobs\n"
    "  cancel JOB_ID...    cancel jobs\n"
    "  retry JOB_ID...     queue failed, cancelled or expired jobs again\n"
    "  watch               print job events as they happen\n"
    "  status              show the daemon's state\n"
    "  keys                show the server keys' health (fingerprints only)\n"
    "  keys reset [NAME]   put exhausted or invalid server keys back (admin)\n"
    "  breakers reset [M]  close circuit breakers (admin)\n"
    "  models              show the models llmqd knows and their prices\n"
    "  usage               show what was spent, by model, client, key, tag or day\n"
    "  budget              set, list or delete spending limits\n"
    "  db backup FILE      an online backup of llmqd's database\n"
    "  batch               run an OpenAI Batch file: submit, status, results\n"
    "  pause               stop starting jobs (whole queue or --client NAME)\n"
    "  resume              start jobs again\n"
    "\n"
    "Global options (before or after the command):\n"
    "  --socket PATH       llmqd's socket (default: $LLMQ_SOCKET,\n"
    "                      $XDG_RUNTIME_DIR/llmq/llmqd.sock, /run/llmq/llmqd.sock)\n"
    "  --json              machine output: the call's JSON result on one line\n"
    "  -h, --help          this help, or a command's: llmq submit --help\n"
    "  --version           print llmq's version\n"
    "\n"
    "Exit status:\n"
    "  0  success\n"
    "  1  the job failed, was cancelled or expired (--wait, --stream), or llmqd\n"
    "     refused the request\n"
    "  2  usage error\n"
    "  3  llmqd could not be reached\n";

}  // namespace

void printTopLevelHelp(FILE* out) { std::fputs(kTopLevelHelp, out); }

void printCommandHelp(const char* page) {
  std::fputs(page, stdout);
  std::fputs(kGlobalsFooter, stdout);
}

}  // namespace llmq::cli
