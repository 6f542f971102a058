// llmq::client::Client: calls, pipelines and events over one ipc::Client
// connection. Every line from llmqd is parsed once here and sorted: answers are
// matched to requests by id (they come back in request order), event
// notifications are queued in arrival order until the caller reads events.
#include <algorithm>
#include <chrono>
#include <deque>

#include "clients/cpp/values.h"
#include "ipc/client.h"
#include "ipc/jsonrpc.h"
#include "ipc/socket_path.h"
#include "llmq/client.h"

namespace llmq::client {
namespace {

int64_t monoMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

// Milliseconds left until `deadline` (-1: none) as a poll timeout.
int remaining(int64_t deadline) {
  if (deadline < 0) {
    return -1;
  }
  return static_cast<int>(std::max<int64_t>(0, deadline - monoMs()));
}

int64_t deadlineAfter(int timeout_ms) { return timeout_ms < 0 ? -1 : monoMs() + timeout_ms; }

Error transportError(const llmq::Error& e) { return Error{ErrorKind::kTransport, 0, e.message, ""}; }

Error protocolError(std::string message) { return Error{ErrorKind::kProtocol, 0, std::move(message), ""}; }

// Params must be a JSON object in valid UTF-8: llmqd answers a line it cannot
// read with id null, which no request could be matched to.
bool validParams(std::string_view params_json, std::string* why) {
  json::Document doc;
  if (!json::parse(doc, params_json, why)) {
    *why = "params are not valid JSON (llmqd requires valid UTF-8): " + *why;
    return false;
  }
  if (!doc.IsObject()) {
    *why = "params must be a JSON object";
    return false;
  }
  return true;
}

// Events that end a job, for wait().
const std::vector<std::string> kTerminalEvents = {"final_response", "error", "cancelled", "expired"};

}  // namespace

std::string defaultSocketPath() { return ipc::defaultSocketPath(); }

struct Client::Impl {
  // What one line from llmqd turned out to be.
  enum class Line { kNone, kEvent, kAnswer };

  std::string socket_path;
  std::unique_ptr<ipc::Client> wire;
  std::deque<Event> events;  // Arrived while an answer was awaited; oldest first.

  // Reads one line (up to timeout_ms). An event is queued; an answer is parsed
  // into *reply, with its id (-1 for id null) in *id. Other notifications and
  // lines without either are skipped (kNone).
  Result<Line> readLine(int timeout_ms, Reply* reply, int64_t* id) {
    auto line = wire->readLine(timeout_ms);
    if (!line) {
      return transportError(line.error());
    }
    if (!line->has_value()) {
      return Line::kNone;
    }
    json::Document doc;
    std::string why;
    if (!json::parse(doc, **line, &why, json::kMaxAnswerDepth) || !doc.IsObject()) {
      return protocolError("llmqd sent a line that is not a JSON object: " + why);
    }
    if (const json::Value* method = json::member(doc, "method")) {
      const json::Value* params = json::member(doc, "params");
      if (method->IsString() && json::view(*method) == "event" && params != nullptr && params->IsObject()) {
        events.push_back(eventFromParams(*params));
        return Line::kEvent;
      }
      return Line::kNone;  // A notification this library predates.
    }
    const json::Value* rid = json::member(doc, "id");
    *id = rid != nullptr && rid->IsInt64() ? rid->GetInt64() : -1;
    if (const json::Value* result = json::member(doc, "result")) {
      reply->ok = true;
      reply->result_json = json::toString(*result);
      reply->error = Error{};
      return Line::kAnswer;
    }
    const json::Value* error = json::member(doc, "error");
    if (error == nullptr || !error->IsObject()) {
      return protocolError("llmqd sent a response with neither result nor error");
    }
    reply->ok = false;
    reply->result_json.clear();
    reply->error.kind = ErrorKind::kRpc;
    const json::Value* code = json::member(*error, "code");
    reply->error.code = code != nullptr && code->IsInt() ? code->GetInt() : ipc::rpc::kInternalError;
    const json::Value* message = json::member(*error, "message");
    reply->error.message = message != nullptr && message->IsString() ? std::string(json::view(*message)) : "";
    reply->error.symbol = ipc::rpc::symbolFor(reply->error.code);
    if (const json::Value* data = json::member(*error, "data")) {
      if (const json::Value* sym = json::member(*data, "code"); sym != nullptr && sym->IsString()) {
        reply->error.symbol = std::string(json::view(*sym));
      }
    }
    return Line::kAnswer;
  }

  // Waits for the answer to request `id`, skipping late answers to earlier
  // requests that timed out.
  Result<Reply> awaitAnswer(int64_t id, std::string_view method, int64_t deadline) {
    for (;;) {
      Reply reply;
      int64_t got = 0;
      auto line = readLine(remaining(deadline), &reply, &got);
      if (!line) {
        return line.error();
      }
      if (*line == Line::kAnswer && (got == id || got == -1)) {
        // id null: llmqd could not read the request; with answers in request
        // order, the first such answer after ours was sent is ours.
        return reply;
      }
      if (*line == Line::kNone && deadline >= 0 && monoMs() >= deadline) {
        return Error{ErrorKind::kTimeout, 0, "timed out waiting for llmqd to answer " + std::string(method), ""};
      }
    }
  }
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::connect(const std::string& socket_path) {
  auto impl = std::make_unique<Impl>();
  impl->socket_path = socket_path.empty() ? defaultSocketPath() : socket_path;
  auto wire = ipc::Client::connect(impl->socket_path);
  if (!wire) {
    return Error{ErrorKind::kConnect, 0, wire.error().message, ""};
  }
  impl->wire = std::move(wire.value());
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

const std::string& Client::socketPath() const { return impl_->socket_path; }

Result<std::string> Client::call(std::string_view method, std::string_view params_json, int timeout_ms) {
  std::string why;
  if (!validParams(params_json, &why)) {
    return Error{ErrorKind::kInvalidArgument, 0, std::string(method) + ": " + why, ""};
  }
  const int64_t deadline = deadlineAfter(timeout_ms);
  auto id = impl_->wire->send(method, params_json);
  if (!id) {
    return transportError(id.error());
  }
  auto reply = impl_->awaitAnswer(*id, method, deadline);
  if (!reply) {
    return reply.error();
  }
  if (!reply->ok) {
    return std::move(reply->error);
  }
  return std::move(reply->result_json);
}

Result<std::vector<Reply>> Client::callPipelined(std::string_view method,
                                                 const std::vector<std::string>& params_list, size_t window,
                                                 const std::function<bool(size_t, const Reply&)>& on_reply) {
  window = std::max<size_t>(window, 1);
  std::vector<Reply> replies(params_list.size());
  struct Pending {
    size_t index;
    int64_t id;
  };
  std::deque<Pending> pending;  // Sent, unanswered, in sending order.
  size_t next = 0;
  bool stopped = false;
  // Once the caller has said stop, the answers still to come are drained into
  // `replies` without bothering it.
  auto deliver = [&](size_t index, Reply reply) {
    replies[index] = std::move(reply);
    if (on_reply && !stopped && !on_reply(index, replies[index])) {
      stopped = true;
    }
  };
  size_t answered_until = params_list.size();  // Shrinks if the caller stops early.
  while ((!stopped && next < params_list.size()) || !pending.empty()) {
    if (!stopped && next < params_list.size() && pending.size() < window) {
      const size_t index = next++;
      std::string why;
      if (!validParams(params_list[index], &why)) {
        deliver(index,
                Reply{false, "", Error{ErrorKind::kInvalidArgument, 0, std::string(method) + ": " + why, ""}});
        continue;
      }
      auto id = impl_->wire->send(method, params_list[index]);
      if (!id) {
        return transportError(id.error());
      }
      pending.push_back({index, *id});
      continue;
    }
    Reply reply;
    int64_t got = 0;
    auto line = impl_->readLine(-1, &reply, &got);
    if (!line) {
      return line.error();
    }
    if (*line != Impl::Line::kAnswer) {
      continue;
    }
    if (got != -1 && got < pending.front().id) {
      continue;  // A late answer to an earlier call() that timed out.
    }
    if (got != -1 && got != pending.front().id) {
      return protocolError("llmqd answered request " + std::to_string(got) + " before request " +
                           std::to_string(pending.front().id));
    }
    const size_t index = pending.front().index;
    pending.pop_front();
    deliver(index, std::move(reply));
  }
  if (stopped) {
    answered_until = next;
  }
  replies.resize(answered_until);
  return replies;
}

Result<SubmitAck> Client::submit(const SubmitRequest& request) {
  auto r = call("job.submit", request.paramsJson());
  if (!r) {
    return r.error();
  }
  json::Document doc;
  json::parse(doc, *r, nullptr, json::kMaxAnswerDepth);
  return submitAckFromJson(doc);
}

Result<std::vector<Result<SubmitAck>>> Client::submitMany(const std::vector<SubmitRequest>& requests,
                                                          size_t window) {
  std::vector<std::string> params;
  params.reserve(requests.size());
  for (const SubmitRequest& r : requests) {
    params.push_back(r.paramsJson());
  }
  auto replies = callPipelined("job.submit", params, window);
  if (!replies) {
    return replies.error();
  }
  std::vector<Result<SubmitAck>> acks;
  acks.reserve(replies->size());
  for (Reply& reply : *replies) {
    if (!reply.ok) {
      acks.emplace_back(std::move(reply.error));
      continue;
    }
    json::Document doc;
    json::parse(doc, reply.result_json, nullptr, json::kMaxAnswerDepth);
    acks.emplace_back(submitAckFromJson(doc));
  }
  return acks;
}

namespace {

// A call whose result is a job object.
Result<Job> jobCall(Client& client, const char* method, std::string_view job_id) {
  auto r = client.call(method, jobIdParams(job_id));
  if (!r) {
    return r.error();
  }
  json::Document doc;
  json::parse(doc, *r, nullptr, json::kMaxAnswerDepth);
  return jobFromJson(doc);
}

}  // namespace

Result<Job> Client::get(std::string_view job_id) { return jobCall(*this, "job.get", job_id); }
Result<Job> Client::cancel(std::string_view job_id) { return jobCall(*this, "job.cancel", job_id); }
Result<Job> Client::retry(std::string_view job_id) { return jobCall(*this, "job.retry", job_id); }

Result<JobPage> Client::list(const ListQuery& query) {
  auto r = call("job.list", listParams(query));
  if (!r) {
    return r.error();
  }
  json::Document doc;
  json::parse(doc, *r, nullptr, json::kMaxAnswerDepth);
  JobPage page;
  if (const json::Value* jobs = json::member(doc, "jobs"); jobs != nullptr && jobs->IsArray()) {
    page.jobs.reserve(jobs->Size());
    for (const auto& j : jobs->GetArray()) {
      page.jobs.push_back(jobFromJson(j));
    }
  }
  if (const json::Value* c = json::member(doc, "next_cursor"); c != nullptr && c->IsString()) {
    page.next_cursor = std::string(json::view(*c));
  }
  return page;
}

Result<DaemonStatus> Client::status() {
  auto r = call("daemon.status", "{}");
  if (!r) {
    return r.error();
  }
  json::Document doc;
  json::parse(doc, *r, nullptr, json::kMaxAnswerDepth);
  return statusFromJson(doc);
}

Result<SubscribeAck> Client::subscribe(const SubscribeRequest& request) {
  auto r = call("events.subscribe", subscribeParams(request));
  if (!r) {
    return r.error();
  }
  json::Document doc;
  json::parse(doc, *r, nullptr, json::kMaxAnswerDepth);
  SubscribeAck ack;
  if (const json::Value* s = json::member(doc, "subscription"); s != nullptr && s->IsString()) {
    ack.subscription = std::string(json::view(*s));
  }
  if (const json::Value* s = json::member(doc, "state"); s != nullptr && s->IsString()) {
    ack.state = std::string(json::view(*s));
  }
  return ack;
}

Result<void> Client::unsubscribe(std::string_view subscription) {
  std::string params = "{\"subscription\":";
  json::appendString(params, subscription);
  params += "}";
  auto r = call("events.unsubscribe", params);
  if (!r) {
    return r.error();
  }
  return {};
}

Result<std::optional<Event>> Client::nextEvent(int timeout_ms) {
  const int64_t deadline = deadlineAfter(timeout_ms);
  for (;;) {
    if (std::optional<Event> e = takeEvent()) {
      return e;  // Moved: C++20 implicit move on return.
    }
    Reply stray;  // No request is outstanding: an answer here is a late one, dropped.
    int64_t id = 0;
    auto line = impl_->readLine(remaining(deadline), &stray, &id);
    if (!line) {
      return line.error();
    }
    if (*line == Impl::Line::kNone && deadline >= 0 && monoMs() >= deadline) {
      return std::optional<Event>();
    }
  }
}

std::optional<Event> Client::takeEvent() {
  if (impl_->events.empty()) {
    return std::nullopt;
  }
  Event e = std::move(impl_->events.front());
  impl_->events.pop_front();
  return e;
}

Result<size_t> Client::readEvents(const std::function<bool(const Event&)>& handler, int timeout_ms) {
  const int64_t deadline = deadlineAfter(timeout_ms);
  size_t count = 0;
  for (;;) {
    auto e = nextEvent(remaining(deadline));
    if (!e) {
      return e.error();
    }
    if (!e->has_value()) {
      return count;
    }
    ++count;
    if (!handler(**e)) {
      return count;
    }
  }
}

Result<size_t> Client::readEvents(EventHandler& handler, int timeout_ms) {
  return readEvents([&handler](const Event& e) { return handler.onEvent(e); }, timeout_ms);
}

Result<Job> Client::wait(std::string_view job_id, int timeout_ms) {
  const int64_t deadline = deadlineAfter(timeout_ms);
  SubscribeRequest req;
  req.job_id = std::string(job_id);
  req.events = kTerminalEvents;
  auto sub = subscribe(req);
  if (!sub) {
    return sub.error();
  }
  const std::string id = sub->subscription;
  // Our subscription's events are ours alone: take them out of the queue, and
  // stop at the terminal one. Everyone else's stay, in order, for readEvents().
  auto takeOurs = [this, &id]() {
    bool ended = false;
    for (auto it = impl_->events.begin(); it != impl_->events.end();) {
      if (it->subscription != id) {
        ++it;
        continue;
      }
      ended = ended || it->terminal;
      it = impl_->events.erase(it);
    }
    return ended;
  };
  bool ended = id.empty();  // No subscription: the job had already ended.
  while (!ended) {
    ended = takeOurs();
    if (ended) {
      break;
    }
    Reply stray;
    int64_t rid = 0;
    auto line = impl_->readLine(remaining(deadline), &stray, &rid);
    if (!line) {
      return line.error();
    }
    if (*line == Impl::Line::kNone && deadline >= 0 && monoMs() >= deadline) {
      (void)unsubscribe(id);  // Best effort: the job goes on, our interest does not.
      takeOurs();
      return Error{ErrorKind::kTimeout, 0, "timed out waiting for job " + std::string(job_id) + " to end", ""};
    }
  }
  return get(job_id);
}

}  // namespace llmq::client
