package io.reportcluster.node.llm.provider;

import io.reportcluster.node.testkit.ScriptedLlmServer.Reply;

/** What OpenAI's Chat Completions sends, as tests script it: chunks, usage, errors. */
final class OpenAiStreams {
  private OpenAiStreams() {}

  /** A chunk as OpenAI streams it: one piece of content, or a finish reason. */
  static String chunk(String content, String finishReason) {
    String delta = content == null ? "{}" : "{\"content\":" + quote(content) + "}";
    String finish = finishReason == null ? "null" : quote(finishReason);
    return "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
        + "\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_1\",\"choices\":"
        + "[{\"index\":0,\"delta\":"
        + delta
        + ",\"logprobs\":null,\"finish_reason\":"
        + finish
        + "}],\"usage\":null}";
  }

  static String usage(long prompt, long completion) {
    return "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
        + "\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[],\"usage\":{\"prompt_tokens\":"
        + prompt
        + ",\"completion_tokens\":"
        + completion
        + ",\"total_tokens\":"
        + (prompt + completion)
        + "}}";
  }

  static String quote(String s) {
    return WireFormat.JSON.getNodeFactory().textNode(s).toString();
  }

  static Reply answer(String finishReason, String... pieces) {
    Reply r =
        Reply.events()
            .data(
                "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":"
                    + "\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":"
                    + "{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},"
                    + "\"finish_reason\":null}],\"usage\":null}");
    for (String p : pieces) r.data(chunk(p, null));
    return r.data(chunk(null, finishReason)).data(usage(19, 7)).data("[DONE]");
  }

  static String error(String message, String type, String code) {
    return "{\"error\":{\"message\":"
        + quote(message)
        + ",\"type\":"
        + quote(type)
        + ",\"param\":null,\"code\":"
        + (code == null ? "null" : quote(code))
        + "}}";
  }
}
