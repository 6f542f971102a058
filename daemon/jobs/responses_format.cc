// Translation between the Responses API and chat completions: requests in,
// Responses out (daemon/jobs/responses_format.h says what is supported).
#include "daemon/jobs/responses_format.h"

#include <optional>
#include <vector>

#include "common/json_writer.h"

namespace llmq::daemon::responses {
namespace {

Error unsupported(std::string what) { return makeError(ErrorKind::kInvalidArgument, std::move(what)); }

std::string_view str(const json::Value& v, const char* name) {
  const json::Value* m = json::member(v, name);
  return m != nullptr && m->IsString() ? json::view(*m) : std::string_view();
}

// Keys of a request that only describe it to OpenAI's storage or dashboard and
// do not change the answer: accepted and not passed on.
bool ignoredKey(std::string_view k) {
  return k == "store" || k == "metadata" || k == "include" || k == "truncation" || k == "service_tier" ||
         k == "prompt_cache_key" || k == "safety_identifier" || k == "background" || k == "stream_options";
}

// One content part of an input message, as a chat-completions part.
Result<std::string> chatPart(const json::Value& part) {
  const std::string_view type = str(part, "type");
  std::string out;
  if (type == "input_text" || type == "output_text" || type == "text") {
    out = "{\"type\":\"text\",\"text\":";
    json::appendString(out, str(part, "text"));
    return out + "}";
  }
  if (type == "input_image") {
    const json::Value* url = json::member(part, "image_url");
    if (url == nullptr || !url->IsString()) {
      return unsupported("an input_image part needs an image_url (a file_id is not supported)");
    }
    out = "{\"type\":\"image_url\",\"image_url\":{\"url\":";
    json::appendString(out, json::view(*url));
    if (const std::string_view detail = str(part, "detail"); !detail.empty()) {
      out += ",\"detail\":";
      json::appendString(out, detail);
    }
    return out + "}}";
  }
  return unsupported("input content parts of type \"" + std::string(type) + "\" are not supported");
}

// A message item's content as chat-completions content: a string stays one.
Result<std::string> chatContent(const json::Value& content) {
  if (content.IsString()) {
    std::string out;
    json::appendString(out, json::view(content));
    return out;
  }
  if (!content.IsArray()) {
    return unsupported("a message's content must be a string or a list of parts");
  }
  std::string out = "[";
  for (const json::Value& part : content.GetArray()) {
    auto p = chatPart(part);
    if (!p) {
      return p.takeError();
    }
    out += out.size() > 1 ? "," : "";
    out += *p;
  }
  return out + "]";
}

// A function_call item as a chat-completions tool call.
std::string toolCall(const json::Value& item) {
  std::string c;
  JsonWriter w(c);
  w.beginObject().key("id").string(str(item, "call_id")).key("type").string("function");
  w.key("function").beginObject();
  w.key("name").string(str(item, "name")).key("arguments").string(str(item, "arguments"));
  w.endObject().endObject();
  return c;
}

// A message item as a chat message (developer is system there).
Result<std::string> chatMessage(const json::Value& item) {
  std::string_view role = str(item, "role");
  if (role == "developer") {
    role = "system";
  }
  if (role != "user" && role != "system" && role != "assistant") {
    return unsupported("input messages with role \"" + std::string(str(item, "role")) + "\" are not supported");
  }
  const json::Value* content = json::member(item, "content");
  if (content == nullptr) {
    return unsupported("an input message needs a content");
  }
  auto c = chatContent(*content);
  if (!c) {
    return c.takeError();
  }
  std::string m;
  JsonWriter(m).beginObject().key("role").string(role).key("content").raw(*c).endObject();
  return m;
}

// A function_call_output item as a chat tool message.
Result<std::string> toolMessage(const json::Value& item) {
  std::string m;
  JsonWriter w(m);
  w.beginObject().key("role").string("tool").key("tool_call_id").string(str(item, "call_id")).key("content");
  const json::Value* output = json::member(item, "output");
  if (output != nullptr && output->IsString()) {
    w.string(json::view(*output));
  } else if (output != nullptr && output->IsArray()) {
    auto c = chatContent(*output);
    if (!c) {
      return c.takeError();
    }
    w.raw(*c);
  } else {
    return unsupported("a function_call_output needs an output");
  }
  w.endObject();
  return m;
}

// An item's type; an item with a role and no type is a message.
std::string_view itemType(const json::Value& item) {
  std::string_view type = str(item, "type");
  if (type.empty() && json::member(item, "role") != nullptr) {
    type = "message";
  }
  return type;
}

// The input items as chat messages, appended to `messages` (a JSON array's
// elements, comma-separated). Consecutive function_call items become one
// assistant message with several tool calls.
Result<void> appendInput(const json::Value& input, std::vector<std::string>& messages) {
  if (input.IsString()) {
    std::string m;
    JsonWriter(m).beginObject().key("role").string("user").key("content").string(json::view(input)).endObject();
    messages.push_back(std::move(m));
    return {};
  }
  if (!input.IsArray()) {
    return unsupported("\"input\" must be a string or a list of items");
  }
  std::string calls;  // Tool calls of the assistant message being gathered.
  const auto flushCalls = [&] {
    if (!calls.empty()) {
      messages.push_back("{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[" + calls + "]}");
      calls.clear();
    }
  };
  for (const json::Value& item : input.GetArray()) {
    if (!item.IsObject()) {
      return unsupported("each item of \"input\" must be an object");
    }
    const std::string_view type = itemType(item);
    if (type == "function_call") {
      calls += (calls.empty() ? "" : ",") + toolCall(item);
      continue;
    }
    flushCalls();
    Result<std::string> m = std::string();
    if (type == "message") {
      m = chatMessage(item);
    } else if (type == "function_call_output") {
      m = toolMessage(item);
    } else if (type != "reasoning") {  // A model's earlier reasoning: chat completions has no place for it.
      return unsupported("input items of type \"" + std::string(type) + "\" are not supported");
    }
    if (!m) {
      return m.takeError();
    }
    if (!m->empty()) {
      messages.push_back(std::move(*m));
    }
  }
  flushCalls();
  return {};
}

Result<std::string> chatTools(const json::Value& tools) {
  if (!tools.IsArray()) {
    return unsupported("\"tools\" must be a list");
  }
  std::string out = "[";
  for (const json::Value& t : tools.GetArray()) {
    if (str(t, "type") != "function") {
      return unsupported("tools of type \"" + std::string(str(t, "type")) +
                         "\" are not supported (only \"function\")");
    }
    out += out.size() > 1 ? "," : "";
    out += "{\"type\":\"function\",\"function\":{\"name\":";
    json::appendString(out, str(t, "name"));
    for (const char* key : {"description", "parameters", "strict"}) {
      if (const json::Value* v = json::member(t, key); v != nullptr && !v->IsNull()) {
        out += ",\"";
        out += key;
        out += "\":" + json::toString(*v);
      }
    }
    out += "}}";
  }
  return out + "]";
}

Result<std::string> chatToolChoice(const json::Value& choice) {
  if (choice.IsString()) {
    return json::toString(choice);
  }
  if (str(choice, "type") == "function" && !str(choice, "name").empty()) {
    std::string out = "{\"type\":\"function\",\"function\":{\"name\":";
    json::appendString(out, str(choice, "name"));
    return out + "}}";
  }
  return unsupported("this \"tool_choice\" is not supported");
}

// text.format as a chat-completions response_format ("" for plain text).
Result<std::string> chatResponseFormat(const json::Value& text) {
  const json::Value* format = json::member(text, "format");
  if (format == nullptr || str(*format, "type") == "text") {
    return std::string();
  }
  const std::string_view type = str(*format, "type");
  if (type == "json_object") {
    return std::string("{\"type\":\"json_object\"}");
  }
  if (type == "json_schema") {
    std::string out = "{\"type\":\"json_schema\",\"json_schema\":{\"name\":";
    json::appendString(out, str(*format, "name").empty() ? std::string_view("response") : str(*format, "name"));
    for (const char* key : {"schema", "strict", "description"}) {
      if (const json::Value* v = json::member(*format, key); v != nullptr && !v->IsNull()) {
        out += ",\"";
        out += key;
        out += "\":" + json::toString(*v);
      }
    }
    return out + "}}";
  }
  return unsupported("text.format of type \"" + std::string(type) + "\" is not supported");
}

// The messages of an earlier response's conversation, already chat messages:
// "[a,b]" -> a, b. Without the earlier instructions: OpenAI does not carry
// them over either.
void appendPreviousMessages(std::string_view previous_messages_json, std::vector<std::string>& messages) {
  json::Document prev;
  if (json::parse(prev, previous_messages_json, nullptr) && prev.IsArray()) {
    for (const json::Value& m : prev.GetArray()) {
      if (str(m, "role") != "system") {
        messages.push_back(json::toString(m));
      }
    }
  }
}

// A request member other than model, input and instructions, as the members of
// the chat request it becomes (",\"key\":value" each) appended to `extra`; an
// error for what chat completions cannot express.
Result<void> appendOption(std::string_view key, const json::Value& v, std::string& extra) {
  if (key == "tools") {
    auto t = chatTools(v);
    if (!t) {
      return t.takeError();
    }
    if (*t != "[]") {
      extra += ",\"tools\":" + *t;
    }
  } else if (key == "tool_choice") {
    auto c = chatToolChoice(v);
    if (!c) {
      return c.takeError();
    }
    extra += ",\"tool_choice\":" + *c;
  } else if (key == "text") {
    auto f = chatResponseFormat(v);
    if (!f) {
      return f.takeError();
    }
    if (!f->empty()) {
      extra += ",\"response_format\":" + *f;
    }
  } else if (key == "max_output_tokens") {
    if (!v.IsNull()) {
      extra += ",\"max_tokens\":" + json::toString(v);
    }
  } else if (key == "temperature" || key == "top_p" || key == "parallel_tool_calls" || key == "user" ||
             key == "reasoning" || key == "stream" || key == "top_logprobs") {
    if (!v.IsNull()) {
      extra += ",\"";
      extra += key;
      extra += "\":" + json::toString(v);
    }
  } else {
    return unsupported("\"" + std::string(key) + "\" is not supported by llmq's /v1/responses");
  }
  return {};
}

}  // namespace

Result<std::string> toChatRequest(const json::Value& request, std::string_view previous_messages_json) {
  if (!request.IsObject()) {
    return unsupported("the request body must be a JSON object");
  }
  std::string out = "{";
  std::vector<std::string> messages;
  const std::string_view instructions = str(request, "instructions");
  if (!instructions.empty()) {
    std::string m;
    JsonWriter(m).beginObject().key("role").string("system").key("content").string(instructions).endObject();
    messages.push_back(std::move(m));
  }
  if (!previous_messages_json.empty()) {
    appendPreviousMessages(previous_messages_json, messages);
  }
  bool has_input = false;
  std::string extra;
  for (const auto& m : request.GetObject()) {
    const std::string_view key = json::view(m.name);
    const json::Value& v = m.value;
    if (key == "model") {
      if (!v.IsString()) {
        return unsupported("\"model\" must be a string");
      }
      out += "\"model\":" + json::toString(v) + ",";
    } else if (key == "input") {
      has_input = true;
      if (auto r = appendInput(v, messages); !r) {
        return r.takeError();
      }
    } else if (key == "instructions" || key == "previous_response_id" || ignoredKey(key)) {
      // Handled above, or by the caller (previous_response_id), or not passed on.
    } else if (auto r = appendOption(key, v, extra); !r) {
      return r.takeError();
    }
  }
  if (!has_input && messages.empty()) {
    return unsupported("missing \"input\"");
  }
  if (messages.empty()) {
    return unsupported("\"input\" holds no message");
  }
  out += "\"messages\":[";
  for (size_t i = 0; i < messages.size(); ++i) {
    out += (i > 0 ? "," : "") + messages[i];
  }
  out += "]" + extra + "}";
  return out;
}

std::string normalizeResponse(const json::Value& response, std::string_view job_id, const json::Value& request) {
  std::string text;
  bool has_message = false;
  std::string calls;
  std::string others;
  if (const json::Value* output = json::member(response, "output"); output != nullptr && output->IsArray()) {
    for (const json::Value& item : output->GetArray()) {
      const std::string_view type = str(item, "type");
      if (type == "message") {
        has_message = true;
        if (const json::Value* content = json::member(item, "content"); content != nullptr && content->IsArray()) {
          for (const json::Value& part : content->GetArray()) {
            if (str(part, "type") == "output_text") {
              text += str(part, "text");
            }
          }
        }
      } else if (type == "function_call") {
        calls += (calls.empty() ? "" : ",") + json::toString(item);
      } else {
        others += (others.empty() ? "" : ",") + json::toString(item);
      }
    }
  }
  std::string output = "[";
  if (has_message) {
    output += "{\"type\":\"message\",\"id\":";
    json::appendString(output, "msg_" + std::string(job_id));
    output += ",\"status\":\"completed\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":";
    json::appendString(output, text);
    output += ",\"annotations\":[]}]}";
  }
  for (const std::string* part : {&calls, &others}) {
    if (!part->empty()) {
      output += (output.size() > 1 ? "," : "") + *part;
    }
  }
  output += "]";
  std::string out = "{\"id\":";
  json::appendString(out, responseId(job_id));
  const json::Value* previous = json::member(request, "previous_response_id");
  if (previous != nullptr && previous->IsString()) {
    out += ",\"previous_response_id\":" + json::toString(*previous);
  }
  bool had_output = false;
  for (const auto& m : response.GetObject()) {
    const std::string_view key = json::view(m.name);
    if (key == "id" || (key == "previous_response_id" && previous != nullptr && previous->IsString())) {
      continue;
    }
    out += ",";
    json::appendString(out, key);
    out += ":";
    if (key == "output") {
      had_output = true;
      out += output;
    } else {
      out += json::toString(m.value);
    }
  }
  if (!had_output) {
    out += ",\"output\":" + output;
  }
  return out + "}";
}

namespace {

// A chat message's content as Responses content: a string stays one; text parts
// become input_text (output_text for the assistant), image_url parts input_image.
std::string itemContent(const json::Value& content, bool assistant) {
  if (!content.IsArray()) {
    std::string out;
    json::appendString(out, content.IsString() ? json::view(content) : std::string_view());
    return out;
  }
  std::string out = "[";
  for (const json::Value& part : content.GetArray()) {
    std::string p;
    if (str(part, "type") == "text") {
      p = assistant ? "{\"type\":\"output_text\",\"text\":" : "{\"type\":\"input_text\",\"text\":";
      json::appendString(p, str(part, "text"));
      p += "}";
    } else if (str(part, "type") == "image_url") {
      const json::Value* url = json::member(part, "image_url");
      p = "{\"type\":\"input_image\",\"image_url\":";
      json::appendString(p, url != nullptr ? (url->IsString() ? json::view(*url) : str(*url, "url")) : "");
      p += "}";
    } else {
      continue;
    }
    out += (out.size() > 1 ? "," : "") + p;
  }
  return out + "]";
}

// Chat messages (an array) as input items, appended to `items`.
void appendMessagesAsItems(const json::Value& messages, std::string& items) {
  const auto add = [&items](const std::string& item) { items += (items.size() > 1 ? "," : "") + item; };
  for (const json::Value& m : messages.GetArray()) {
    const std::string_view role = str(m, "role");
    // A stored request was checked for roles only: content may be missing or null.
    const json::Value* content = json::member(m, "content");
    const bool has_content = content != nullptr && !content->IsNull();
    if (role == "user" || (role == "assistant" && has_content)) {
      static const json::Value kNoText("");
      std::string item = "{\"role\":";
      json::appendString(item, role);
      add(item + ",\"content\":" + itemContent(has_content ? *content : kNoText, role == "assistant") + "}");
    }
    if (role == "assistant") {
      if (const json::Value* calls = json::member(m, "tool_calls"); calls != nullptr && calls->IsArray()) {
        for (const json::Value& call : calls->GetArray()) {
          const json::Value* fn = json::member(call, "function");
          std::string item = "{\"type\":\"function_call\",\"call_id\":";
          json::appendString(item, str(call, "id"));
          item += ",\"name\":";
          json::appendString(item, fn != nullptr ? str(*fn, "name") : std::string_view());
          item += ",\"arguments\":";
          json::appendString(item, fn != nullptr ? str(*fn, "arguments") : std::string_view());
          add(item + "}");
        }
      }
    } else if (role == "tool") {
      std::string item = "{\"type\":\"function_call_output\",\"call_id\":";
      json::appendString(item, str(m, "tool_call_id"));
      add(item + ",\"output\":" + (has_content ? itemContent(*content, false) : std::string("\"\"")) + "}");
    }
  }
}

}  // namespace

Result<std::string> previousInput(const json::Value& job) {
  const json::Value* request = json::member(job, "request");
  const json::Value* result = json::member(job, "result");
  if (str(job, "state") != "succeeded" || request == nullptr || !request->IsObject() || result == nullptr ||
      !result->IsObject()) {
    return unsupported("previous_response_id names a response that did not complete (or whose request was pruned)");
  }
  std::string items = "[";
  const auto add = [&items](const std::string& item) { items += (items.size() > 1 ? "," : "") + item; };
  if (str(job, "kind") == "responses") {
    const json::Value* input = json::member(*request, "input");
    if (input != nullptr && input->IsString()) {
      std::string item = "{\"role\":\"user\",\"content\":";
      json::appendString(item, json::view(*input));
      add(item + "}");
    } else if (input != nullptr && input->IsArray()) {
      for (const json::Value& item : input->GetArray()) {
        add(json::toString(item));
      }
    }
    if (const json::Value* output = json::member(*result, "output"); output != nullptr && output->IsArray()) {
      for (const json::Value& item : output->GetArray()) {
        if (str(item, "type") != "reasoning") {
          add(json::toString(item));
        }
      }
    }
    return items + "]";
  }
  // A chat job: its messages, then its answer.
  const json::Value* messages = json::member(*request, "messages");
  if (messages == nullptr || !messages->IsArray()) {
    return unsupported("previous_response_id names a job that is not a response");
  }
  appendMessagesAsItems(*messages, items);
  if (const json::Value* choices = json::member(*result, "choices");
      choices != nullptr && choices->IsArray() && !choices->Empty()) {
    if (const json::Value* m = json::member((*choices)[0], "message"); m != nullptr && m->IsObject()) {
      json::Document one(rapidjson::kArrayType);
      one.PushBack(json::Value(*m, one.GetAllocator()), one.GetAllocator());
      if (str(*m, "role").empty()) {
        one[0].AddMember("role", "assistant", one.GetAllocator());
      }
      appendMessagesAsItems(one, items);
    }
  }
  return items + "]";
}

std::string withInputBefore(const json::Value& request, std::string_view items_json) {
  std::string out = "{";
  bool had_input = false;
  const auto ownItems = [](const json::Value& input) -> std::string {
    if (input.IsString()) {
      std::string item = "{\"role\":\"user\",\"content\":";
      json::appendString(item, json::view(input));
      return item + "}";
    }
    std::string s = input.IsArray() ? json::toString(input) : "[]";
    return s.substr(1, s.size() - 2);  // The elements, comma-separated.
  };
  const std::string_view prefix = items_json.size() >= 2 ? items_json.substr(1, items_json.size() - 2) : "";
  for (const auto& m : request.GetObject()) {
    out += out.size() > 1 ? "," : "";
    json::appendString(out, json::view(m.name));
    out += ":";
    if (json::view(m.name) == "input") {
      had_input = true;
      const std::string own = ownItems(m.value);
      out += "[" + std::string(prefix) + (!prefix.empty() && !own.empty() ? "," : "") + own + "]";
    } else {
      out += json::toString(m.value);
    }
  }
  if (!had_input) {
    out += (out.size() > 1 ? "," : "") + std::string("\"input\":[") + std::string(prefix) + "]";
  }
  return out + "}";
}

std::string responseId(std::string_view job_id) { return "resp_" + std::string(job_id); }

std::optional<std::string> jobIdOf(std::string_view response_id) {
  if (response_id.rfind("resp_", 0) != 0 || response_id.size() <= 5 || response_id.size() > 64) {
    return std::nullopt;
  }
  return std::string(response_id.substr(5));
}

namespace {

// A chat completion's first choice as Response output items: its message, its
// tool calls, then its reasoning. Sets *finish to its finish_reason.
std::string outputItems(const json::Value& completion, std::string_view job_id, std::string_view* finish) {
  std::string output = "[";
  const auto add = [&output](const std::string& item) { output += (output.size() > 1 ? "," : "") + item; };
  const json::Value* choices = json::member(completion, "choices");
  if (choices == nullptr || !choices->IsArray() || choices->Empty()) {
    return output + "]";
  }
  const json::Value& choice = (*choices)[0];
  *finish = str(choice, "finish_reason");
  const json::Value* message = json::member(choice, "message");
  static const json::Value kEmpty(rapidjson::kObjectType);
  const json::Value& m = message != nullptr && message->IsObject() ? *message : kEmpty;
  if (const json::Value* content = json::member(m, "content"); content != nullptr && content->IsString()) {
    std::string item = "{\"type\":\"message\",\"id\":";
    json::appendString(item, "msg_" + std::string(job_id));
    item += ",\"status\":\"completed\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":";
    json::appendString(item, json::view(*content));
    add(item + ",\"annotations\":[]}]}");
  }
  if (const json::Value* calls = json::member(m, "tool_calls"); calls != nullptr && calls->IsArray()) {
    int i = 0;
    for (const json::Value& call : calls->GetArray()) {
      const json::Value* fn = json::member(call, "function");
      std::string item = "{\"type\":\"function_call\",\"id\":";
      json::appendString(item, "fc_" + std::string(job_id) + "_" + std::to_string(i++));
      item += ",\"call_id\":";
      json::appendString(item, str(call, "id"));
      item += ",\"name\":";
      json::appendString(item, fn != nullptr ? str(*fn, "name") : std::string_view());
      item += ",\"arguments\":";
      json::appendString(item, fn != nullptr ? str(*fn, "arguments") : std::string_view());
      add(item + ",\"status\":\"completed\"}");
    }
  }
  if (const std::string_view reasoning = str(m, "reasoning"); !reasoning.empty()) {
    std::string item = "{\"type\":\"reasoning\",\"id\":";
    json::appendString(item, "rs_" + std::string(job_id));
    item += ",\"summary\":[{\"type\":\"summary_text\",\"text\":";
    json::appendString(item, reasoning);
    add(item + "}]}");
  }
  return output + "]";
}

// A chat completion's usage as a Response's: null when it has none.
void appendResponseUsage(std::string& out, const json::Value& completion) {
  const json::Value* usage = json::member(completion, "usage");
  if (usage == nullptr || !usage->IsObject()) {
    out += "null";
    return;
  }
  const auto count = [usage](const char* name) -> int64_t {
    const json::Value* v = json::member(*usage, name);
    return v != nullptr && v->IsInt64() ? v->GetInt64() : 0;
  };
  const auto detail = [usage](const char* obj, const char* name) -> int64_t {
    const json::Value* o = json::member(*usage, obj);
    const json::Value* v = o != nullptr ? json::member(*o, name) : nullptr;
    return v != nullptr && v->IsInt64() ? v->GetInt64() : 0;
  };
  out += "{\"input_tokens\":" + std::to_string(count("prompt_tokens")) +
         ",\"input_tokens_details\":{\"cached_tokens\":" +
         std::to_string(detail("prompt_tokens_details", "cached_tokens")) +
         "},\"output_tokens\":" + std::to_string(count("completion_tokens")) +
         ",\"output_tokens_details\":{\"reasoning_tokens\":" +
         std::to_string(detail("completion_tokens_details", "reasoning_tokens")) +
         "},\"total_tokens\":" + std::to_string(count("total_tokens"));
  if (const json::Value* cost = json::member(*usage, "cost"); cost != nullptr && cost->IsNumber()) {
    out += ",\"cost\":" + json::toString(*cost);
  }
  out += "}";
}

}  // namespace

std::string fromChatCompletion(const json::Value& completion, std::string_view job_id, int64_t created_at,
                               const json::Value& request) {
  std::string out = "{\"id\":";
  json::appendString(out, responseId(job_id));
  out += ",\"object\":\"response\",\"created_at\":" + std::to_string(created_at);
  std::string_view finish;
  const std::string output = outputItems(completion, job_id, &finish);
  const bool cut = finish == "length";
  out += cut ? ",\"status\":\"incomplete\",\"incomplete_details\":{\"reason\":\"max_output_tokens\"}"
             : ",\"status\":\"completed\",\"incomplete_details\":null";
  out += ",\"error\":null,\"model\":";
  json::appendString(out, str(completion, "model"));
  out += ",\"output\":" + output;
  // Echoed from the request, as OpenAI does.
  const auto echo = [&](const char* key, std::string_view fallback) {
    out += ",\"";
    out += key;
    out += "\":";
    const json::Value* v = json::member(request, key);
    out += v != nullptr ? json::toString(*v) : std::string(fallback);
  };
  echo("instructions", "null");
  echo("tools", "[]");
  echo("tool_choice", "\"auto\"");
  echo("parallel_tool_calls", "true");
  echo("temperature", "null");
  echo("top_p", "null");
  echo("max_output_tokens", "null");
  echo("previous_response_id", "null");
  echo("metadata", "{}");
  echo("text", "{\"format\":{\"type\":\"text\"}}");
  out += ",\"usage\":";
  appendResponseUsage(out, completion);
  out += "}";
  return out;
}

}  // namespace llmq::daemon::responses
