#include "daemon/api/responses_stream.h"

namespace llmq::daemon::responses {
namespace {

std::string_view str(const json::Value& v, const char* name) {
  const json::Value* m = json::member(v, name);
  return m != nullptr && m->IsString() ? json::view(*m) : std::string_view();
}

// Where an event belongs: "item_id":"...","output_index":N, and for a
// message's text part also "content_index":0.
std::string place(std::string_view item_id, int output_index, bool text_part) {
  std::string f = "\"item_id\":";
  json::appendString(f, item_id);
  f += ",\"output_index\":" + std::to_string(output_index);
  if (text_part) {
    f += ",\"content_index\":0";
  }
  return f;
}

// One output_text content part.
std::string textPart(std::string_view text) {
  std::string p = "{\"type\":\"output_text\",\"text\":";
  json::appendString(p, text);
  return p + ",\"annotations\":[]}";
}

// A field `name` with the JSON string `value`, after a comma.
std::string stringField(const char* name, std::string_view value) {
  std::string f = ",\"";
  f += name;
  f += "\":";
  json::appendString(f, value);
  return f;
}

}  // namespace

void EventStream::event(std::string& out, std::string_view type, std::string_view fields_json) {
  out += "event: ";
  out += type;
  out += "\ndata: {\"type\":\"";
  out += type;
  out += "\"";
  if (!fields_json.empty()) {
    out += ",";
    out += fields_json;
  }
  out += ",\"sequence_number\":" + std::to_string(seq_++) + "}\n\n";
}

std::string EventStream::skeleton(std::string_view status) const {
  std::string r = "{\"id\":";
  json::appendString(r, id_);
  r += ",\"object\":\"response\",\"created_at\":" + std::to_string(created_at_) + ",\"status\":";
  json::appendString(r, status);
  r += ",\"model\":";
  json::appendString(r, model_);
  r += ",\"output\":[],\"usage\":null,\"error\":null,\"incomplete_details\":null}";
  return r;
}

std::string EventStream::begin() {
  std::string out;
  if (!begun_) {
    begun_ = true;
    event(out, "response.created", "\"response\":" + skeleton("in_progress"));
    event(out, "response.in_progress", "\"response\":" + skeleton("in_progress"));
  }
  return out;
}

void EventStream::openMessage(std::string& out) {
  if (message_open_) {
    return;
  }
  message_open_ = true;
  message_id_ = "msg_" + id_.substr(id_.rfind('_') + 1);
  event(out, "response.output_item.added",
        "\"output_index\":0,\"item\":{\"type\":\"message\"" + stringField("id", message_id_) +
            ",\"status\":\"in_progress\",\"role\":\"assistant\",\"content\":[]}");
  event(out, "response.content_part.added", place(message_id_, 0, true) + ",\"part\":" + textPart(""));
}

std::string EventStream::text(std::string_view delta) {
  std::string out = begin();
  if (delta.empty()) {
    return out;
  }
  openMessage(out);
  text_ += delta;
  event(out, "response.output_text.delta",
        place(message_id_, 0, true) + stringField("delta", delta) + ",\"logprobs\":[]");
  return out;
}

std::string EventStream::finish(const json::Value& response) {
  std::string out = begin();
  const json::Value* output = json::member(response, "output");
  // The finished output, item by item, in the Response's order. A message item
  // is the one whose text streamed: it is closed rather than added again.
  int index = -1;  // Each item's output_index is its place in the finished output.
  bool message_done = false;
  if (output != nullptr && output->IsArray()) {
    for (const json::Value& item : output->GetArray()) {
      ++index;
      const std::string_view type = str(item, "type");
      if (type == "message" && !message_done) {
        message_done = true;
        // The streamed message is output 0 when it is open; a message that came
        // whole (a cached answer) is added here.
        std::string_view text;
        if (const json::Value* content = json::member(item, "content");
            content != nullptr && content->IsArray() && !content->Empty()) {
          text = str((*content)[0], "text");
        }
        if (!message_open_ || text_ != text) {
          // Text that did not stream (or streamed differently: a retry after a
          // broken stream starts over) goes out as one delta.
          if (!message_open_) {
            openMessage(out);
          }
          if (text.size() > text_.size() && text.substr(0, text_.size()) == text_) {
            std::string rest(text.substr(text_.size()));
            out += this->text(rest);
          }
        }
        event(out, "response.output_text.done",
              place(message_id_, 0, true) + stringField("text", text) + ",\"logprobs\":[]");
        event(out, "response.content_part.done", place(message_id_, 0, true) + ",\"part\":" + textPart(text));
        // The finished item, with this stream's message id.
        event(out, "response.output_item.done",
              "\"output_index\":0,\"item\":{\"type\":\"message\"" + stringField("id", message_id_) +
                  ",\"status\":\"completed\",\"role\":\"assistant\",\"content\":[" + textPart(text) + "]}");
        continue;
      }
      const int at = index;
      std::string added = "\"output_index\":" + std::to_string(at) + ",\"item\":";
      if (type == "function_call") {
        // Added without arguments, then the arguments whole, then done.
        event(out, "response.output_item.added",
              added + "{\"type\":\"function_call\"" + stringField("id", str(item, "id")) +
                  stringField("call_id", str(item, "call_id")) + stringField("name", str(item, "name")) +
                  ",\"arguments\":\"\",\"status\":\"in_progress\"}");
        const std::string where = place(str(item, "id"), at, false);
        event(out, "response.function_call_arguments.delta", where + stringField("delta", str(item, "arguments")));
        event(out, "response.function_call_arguments.done",
              where + stringField("arguments", str(item, "arguments")));
      } else {
        event(out, "response.output_item.added", added + json::toString(item));
      }
      event(out, "response.output_item.done", added + json::toString(item));
    }
  }
  const bool incomplete = str(response, "status") == "incomplete";
  event(out, incomplete ? "response.incomplete" : "response.completed", "\"response\":" + json::toString(response));
  return out;
}

std::string EventStream::fail(std::string_view error_json) {
  std::string out = begin();
  std::string r = skeleton("failed");
  r.replace(r.find("\"error\":null"), std::string_view("\"error\":null").size(),
            "\"error\":" + std::string(error_json));
  event(out, "response.failed", "\"response\":" + r);
  return out;
}

}  // namespace llmq::daemon::responses
