// consumer SOCKET: asks llmqd for daemon.status, then runs one mock job to its
// end, through nothing but the installed <llmq/client.h> and llmq::client.
// Prints "status: llmqd VERSION protocol N", then "answer: TEXT"; exits 1 on
// any failure, with the library's error on stderr.
#include <llmq/client.h>

#include <iostream>
#include <string>

namespace {

// Counts the events of the job it was given; proves the handler interface links.
class Counter : public llmq::client::EventHandler {
 public:
  bool onEvent(const llmq::client::Event& event) override {
    ++seen;
    return !event.terminal;
  }
  int seen = 0;
};

int fail(const llmq::client::Error& e) {
  std::cerr << "consumer: " << e.message << (e.symbol.empty() ? "" : " (" + e.symbol + ")") << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  auto client = llmq::client::Client::connect(argc > 1 ? argv[1] : "");
  if (!client) {
    return fail(client.error());
  }
  auto status = (*client)->status();
  if (!status) {
    return fail(status.error());
  }
  std::cout << "status: llmqd " << status->version << " protocol " << status->protocol_version << "\n";

  llmq::client::SubmitRequest req;
  req.request_json = R"({"model":"mock/echo","messages":[{"role":"user","content":"hello from a consumer"}]})";
  req.subscribe = true;
  auto ack = (*client)->submit(req);
  if (!ack) {
    return fail(ack.error());
  }
  Counter counter;
  if (auto n = (*client)->readEvents(counter, 30000); !n) {
    return fail(n.error());
  }
  auto job = (*client)->get(ack->job_id);
  if (!job) {
    return fail(job.error());
  }
  std::cout << "events: " << counter.seen << "\n";
  std::cout << "answer: " << job->state << " " << job->result_json << "\n";
  return job->state == "succeeded" ? 0 : 1;
}
