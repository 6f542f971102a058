// The clients agents use, pinned, against llmqd's HTTP front in front of the fake
// upstream (tests/integration/openai_sdk_test.cc starts both and runs this with
// LLMQ_BASE_URL, LLMQ_TOKEN and LLMQ_FAKE_URL). Exits non-zero, saying why, on
// any mismatch.
import { embed, embedMany, generateText, jsonSchema, streamText, tool } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import OpenAI from 'openai';

const baseURL = process.env.LLMQ_BASE_URL;
const apiKey = process.env.LLMQ_TOKEN;
const fakeUrl = process.env.LLMQ_FAKE_URL;
if (!baseURL || !apiKey || !fakeUrl) {
  console.error('LLMQ_BASE_URL, LLMQ_TOKEN and LLMQ_FAKE_URL must be set');
  process.exit(2);
}

function check(ok, what) {
  if (!ok) {
    throw new Error('check failed: ' + what);
  }
  console.log('ok - ' + what);
}
async function upstreamRequests() {
  const r = await fetch(fakeUrl + '/_fake/stats');
  return (await r.json()).total;
}
const prompt = 'alpha beta gamma';

// The AI SDK's default provider model speaks the Responses API.
const openai = createOpenAI({ baseURL, apiKey });
const g1 = await generateText({ model: openai('fake/ok'), prompt, maxOutputTokens: 4 });
check(g1.text === 'alpha beta gamma alpha', 'AI SDK openai(model) generateText (Responses API): ' + JSON.stringify(g1.text));
check(g1.usage.outputTokens === 4, 'AI SDK openai(model) usage');
const s1 = streamText({ model: openai('fake/ok'), prompt, maxOutputTokens: 5 });
let t1 = '';
for await (const part of s1.textStream) {
  t1 += part;
}
check(t1 === 'alpha beta gamma alpha beta', 'AI SDK openai(model) streamText (Responses API): ' + JSON.stringify(t1));
const lookup = tool({ description: 'look up', inputSchema: jsonSchema({ type: 'object', properties: {} }) });
const tools1 = await generateText({ model: openai('fake/rich'), prompt, tools: { lookup } });
check(tools1.toolCalls.length === 1 && tools1.toolCalls[0].toolName === 'lookup',
  'AI SDK openai(model) tool call (Responses API): ' + JSON.stringify(tools1.toolCalls));
const tools2 = streamText({ model: openai('fake/rich'), prompt, tools: { lookup } });
const streamedCalls = await tools2.toolCalls;
check(streamedCalls.length === 1 && streamedCalls[0].toolName === 'lookup',
  'AI SDK openai(model) streamed tool call (Responses API): ' + JSON.stringify(streamedCalls));

// Chat completions through the OpenAI provider and the OpenAI-compatible one.
const g2 = await generateText({ model: openai.chat('fake/ok'), prompt, maxOutputTokens: 3 });
check(g2.text === 'alpha beta gamma', 'AI SDK openai.chat generateText');
const compat = createOpenAICompatible({ name: 'llmq', baseURL, apiKey });
const g3 = await generateText({ model: compat.chatModel('fake/rich'), prompt });
check(g3.reasoningText === 'thinking about 0', 'AI SDK openai-compatible reasoningText: ' + JSON.stringify(g3.reasoningText));
const s3 = streamText({ model: compat.chatModel('fake/rich'), prompt });
let t3 = '';
for await (const part of s3.textStream) {
  t3 += part;
}
check(t3 === g3.text, 'AI SDK openai-compatible streamText text equals generateText');
check((await s3.reasoningText) === 'thinking about 0',
  'AI SDK openai-compatible streamed reasoningText: ' + JSON.stringify(await s3.reasoningText));

// LangChain.
const lc = new ChatOpenAI({ model: 'fake/ok', apiKey, configuration: { baseURL }, maxTokens: 3 });
const m = await lc.invoke(prompt);
check(m.content === 'alpha beta gamma', 'LangChain ChatOpenAI invoke: ' + JSON.stringify(m.content));
let lcs = '';
for await (const chunk of await lc.stream(prompt)) {
  lcs += chunk.content;
}
check(lcs === 'alpha beta gamma', 'LangChain ChatOpenAI stream: ' + JSON.stringify(lcs));
// LangChain retries a 5xx by itself whatever X-Should-Retry says; llmqd answers
// its retries of the same request from memory. (2 retries here: its default 6
// back off for a minute.)
const before = await upstreamRequests();
const failing = new ChatOpenAI({ model: 'fake/fault-502', apiKey, configuration: { baseURL }, maxRetries: 2 });
let failed = false;
try {
  await failing.invoke('persistent failure, langchain');
} catch (e) {
  failed = true;
}
const spent = (await upstreamRequests()) - before;
check(failed && spent === 4, 'LangChain with retries: a persistent 502 costs llmqd\'s 4 attempts (' + spent + ')');

// The current openai SDK.
const client = new OpenAI({ baseURL, apiKey, timeout: 20000 });
const c = await client.chat.completions.create({ model: 'fake/ok', messages: [{ role: 'user', content: prompt }], max_tokens: 2 });
check(c.choices[0].message.content === 'alpha beta', 'openai chat.completions.create');
const r = await client.responses.create({ model: 'fake/ok', input: prompt, max_output_tokens: 2 });
check(r.output_text === 'alpha beta', 'openai responses.create');
const one = await client.models.retrieve('mock/echo');
check(one.id === 'mock/echo', 'openai models.retrieve');

// Embeddings: jobs of their own kind. The openai SDK asks for base64 by default
// and decodes it; asked for floats, the same vectors (as float32s) come back.
const e64 = await client.embeddings.create({ model: 'fake/ok', input: ['alpha beta', 'gamma'] });
check(e64.data.length === 2 && e64.data[1].index === 1 && e64.data[0].embedding.length === 8,
  'openai embeddings.create (base64 by default): ' + JSON.stringify(e64.data.map((d) => d.embedding.length)));
check(e64.usage.prompt_tokens === 3, 'openai embeddings.create usage: ' + JSON.stringify(e64.usage));
const ef = await client.embeddings.create({ model: 'fake/ok', input: ['alpha beta', 'gamma'], encoding_format: 'float' });
check(ef.data[0].embedding.every((x, i) => Math.abs(x - e64.data[0].embedding[i]) < 1e-6),
  'openai embeddings.create float and base64 agree');
const ed = await client.embeddings.create({ model: 'fake/ok', input: 'alpha', dimensions: 3 });
check(ed.data[0].embedding.length === 3, 'openai embeddings.create dimensions');
let refused = null;
try {
  await client.embeddings.create({ model: 'fake/ok', input: '' });
} catch (e) {
  refused = e;
}
check(refused instanceof OpenAI.BadRequestError, 'openai embeddings.create of an empty input is a BadRequestError');
const v1 = await embed({ model: openai.embedding('fake/ok'), value: 'alpha beta' });
check(v1.embedding.length === 8 && v1.embedding.every((x, i) => Math.abs(x - e64.data[0].embedding[i]) < 1e-6),
  'AI SDK embed (openai.embedding)');
check(v1.usage.tokens === 2, 'AI SDK embed usage: ' + JSON.stringify(v1.usage));
const vm = await embedMany({ model: openai.embedding('fake/ok'), values: ['alpha beta', 'gamma', 'delta'] });
check(vm.embeddings.length === 3 && vm.embeddings.every((v) => v.length === 8), 'AI SDK embedMany');
const lce = new OpenAIEmbeddings({ model: 'fake/ok', apiKey, configuration: { baseURL } });
const q = await lce.embedQuery('alpha beta');
check(q.length === 8 && q.every((x, i) => Math.abs(x - e64.data[0].embedding[i]) < 1e-6), 'LangChain OpenAIEmbeddings embedQuery');
const docs = await lce.embedDocuments(['alpha beta', 'gamma']);
check(docs.length === 2 && docs[1].every((x, i) => Math.abs(x - e64.data[1].embedding[i]) < 1e-6),
  'LangChain OpenAIEmbeddings embedDocuments');
console.log('all client checks passed');
