// daemon::responses::EventStream: the server-sent events of a streamed
// Responses API call (POST /v1/responses with "stream": true), built from what a
// chat-completions job streams. Text arrives live, as response.output_text.delta
// events of one message item; when the job ends, the finished Response
// (responses::fromChatCompletion) closes every item it has: the message's text,
// reasoning, and each function call whole (added, arguments done, done), then
// response.completed (or response.incomplete). Every event is
// "event: TYPE\ndata: {...,"sequence_number":N}\n\n", numbered from 0; there is
// no [DONE]. Pure: it only builds text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/json.h"

namespace llmq::daemon::responses {

class EventStream {
 public:
  // `response_id` ("resp_j12"), `model` and `created_at` describe the response.
  EventStream(std::string response_id, std::string model, int64_t created_at)
      : id_(std::move(response_id)), model_(std::move(model)), created_at_(created_at) {}

  // response.created and response.in_progress (once; every other call begins
  // with them when they were not sent yet).
  std::string begin();
  // A piece of the answer's text.
  std::string text(std::string_view delta);
  // The end, from the finished Response object (its text is the whole answer).
  std::string finish(const json::Value& response);
  // A failure after the stream began: response.failed with `error_json`
  // ({"code","message"}).
  std::string fail(std::string_view error_json);

 private:
  void event(std::string& out, std::string_view type, std::string_view fields_json);
  std::string skeleton(std::string_view status) const;
  void openMessage(std::string& out);

  std::string id_;
  std::string model_;
  int64_t created_at_;
  int64_t seq_ = 0;
  bool begun_ = false;
  bool message_open_ = false;
  std::string message_id_;
  std::string text_;  // What text() streamed, for a check against the finished answer.
};

}  // namespace llmq::daemon::responses
