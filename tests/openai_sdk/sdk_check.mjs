// The official OpenAI SDK against llmqd's HTTP front, which forwards to the fake
// upstream (tests/integration/openai_sdk_test.cc starts both and runs this with
// LLMQ_BASE_URL and LLMQ_TOKEN). Exits non-zero, saying why, on any mismatch.
import OpenAI from 'openai';

const baseURL = process.env.LLMQ_BASE_URL;
const apiKey = process.env.LLMQ_TOKEN;
if (!baseURL || !apiKey) {
  console.error('LLMQ_BASE_URL and LLMQ_TOKEN must be set');
  process.exit(2);
}
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 20000 });
const messages = [{ role: 'user', content: 'alpha beta gamma' }];

function check(ok, what) {
  if (!ok) {
    throw new Error('check failed: ' + what);
  }
  console.log('ok - ' + what);
}

// Not streamed.
const completion = await client.chat.completions.create({ model: 'fake/ok', messages, max_tokens: 4 });
check(completion.object === 'chat.completion', 'create() returns a chat.completion');
check(completion.choices[0].message.content === 'alpha beta gamma alpha', 'create() content is the upstream answer');
check(completion.usage.completion_tokens === 4, 'create() usage comes through');

// With the raw response: the job id header.
const raw = await client.chat.completions.create({ model: 'fake/ok', messages, max_tokens: 1 }).withResponse();
check(/^j[0-9]+$/.test(raw.response.headers.get('x-llmq-job-id') || ''), 'responses carry X-Llmq-Job-Id');

// Streamed, with usage in the last chunk.
const stream = await client.chat.completions.create({
  model: 'fake/ok', messages, max_tokens: 5, stream: true, stream_options: { include_usage: true },
});
let text = '';
let chunks = 0;
let usage = null;
let finish = null;
for await (const chunk of stream) {
  chunks++;
  if (chunk.usage) {
    usage = chunk.usage;
  }
  for (const choice of chunk.choices) {
    text += choice.delta.content || '';
    if (choice.finish_reason) {
      finish = choice.finish_reason;
    }
  }
}
check(text === 'alpha beta gamma alpha beta', 'the stream assembles the whole text (' + JSON.stringify(text) + ')');
check(chunks >= 5, 'the stream arrives in several chunks (' + chunks + ')');
check(finish === 'stop', 'the stream ends with finish_reason stop');
check(usage !== null && usage.completion_tokens === 5, 'include_usage puts usage in the last chunk');

// models.list
const models = await client.models.list();
const ids = [];
for await (const m of models) {
  ids.push(m.id);
}
check(ids.length > 0 && ids.every((id) => typeof id === 'string'), 'models.list lists models (' + ids.length + ')');

// The Responses API, plain and streamed.
const resp = await client.responses.create({ model: 'fake/ok', input: 'alpha beta gamma', max_output_tokens: 4 });
check(resp.object === 'response' && resp.output_text === 'alpha beta gamma alpha',
  'responses.create returns a response with its output_text (' + JSON.stringify(resp.output_text) + ')');
check(resp.usage.output_tokens === 4, 'responses.create usage comes through');
const rstream = await client.responses.create({
  model: 'fake/ok', input: 'alpha beta gamma', max_output_tokens: 3, stream: true,
});
let rtext = '';
let rcompleted = null;
for await (const ev of rstream) {
  if (ev.type === 'response.output_text.delta') {
    rtext += ev.delta;
  } else if (ev.type === 'response.completed') {
    rcompleted = ev.response;
  }
}
check(rtext === 'alpha beta gamma', 'a streamed response assembles its text (' + JSON.stringify(rtext) + ')');
check(rcompleted !== null && rcompleted.status === 'completed', 'a streamed response ends with response.completed');

// Errors come back as the SDK's typed errors.
try {
  await new OpenAI({ baseURL, apiKey: 'wrong-token-wrong-token', maxRetries: 0 }).models.list();
  check(false, 'a wrong token is refused');
} catch (e) {
  check(e instanceof OpenAI.AuthenticationError && e.status === 401, 'a wrong token is an AuthenticationError (401)');
}
try {
  await client.chat.completions.create({ model: 'fake/fault-400', messages });
  check(false, 'an upstream 400 is an error');
} catch (e) {
  check(e instanceof OpenAI.BadRequestError && e.status === 400, 'an upstream 400 is a BadRequestError');
}

// A prompt over max_body_bytes (8 MiB): the SDK reads a 413 with a code, each
// time, instead of a reset it would retry by re-uploading.
const huge = 'data:image/png;base64,' + 'A'.repeat(9 * 1024 * 1024);
for (let i = 0; i < 3; i++) {
  try {
    await client.chat.completions.create({
      model: 'fake/ok',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: huge } }] }],
    });
    check(false, 'a body over max_body_bytes is refused');
  } catch (e) {
    check(e instanceof OpenAI.APIError && e.status === 413 && e.code === 'request_too_large',
      'a body over max_body_bytes is a 413 request_too_large (' + e.constructor.name + ' ' + e.status + ' ' + e.code + ')');
  }
}

// One retry layer: with the SDK's default retries (2), a persistent upstream 502
// costs llmqd's own attempts (4) and no more, and the SDK gives up at once.
const fakeUrl = process.env.LLMQ_FAKE_URL;
async function upstreamRequests() {
  const r = await fetch(fakeUrl + '/_fake/stats');
  return (await r.json()).total;
}
if (fakeUrl) {
  const before = await upstreamRequests();
  const started = Date.now();
  try {
    await new OpenAI({ baseURL, apiKey, timeout: 20000 }).chat.completions.create({
      model: 'fake/fault-502', messages: [{ role: 'user', content: 'persistent failure' }],
    });
    check(false, 'a persistent 502 is an error');
  } catch (e) {
    check(e instanceof OpenAI.InternalServerError && e.status === 502, 'a persistent 502 is an InternalServerError');
  }
  const spent = (await upstreamRequests()) - before;
  check(spent === 4, 'with default retries a persistent 502 costs llmqd\'s 4 attempts (' + spent + ')');
  check(Date.now() - started < 5000, 'and the SDK does not back off and retry (' + (Date.now() - started) + ' ms)');
}
console.log('all SDK checks passed');
