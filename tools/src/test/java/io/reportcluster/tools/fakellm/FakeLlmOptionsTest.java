package io.reportcluster.tools.fakellm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class FakeLlmOptionsTest {
  @Test
  void defaultsServeAnyKeyAndModelWithoutLimits() throws Exception {
    FakeLlmOptions o = FakeLlmOptions.parse();
    assertThat(o.host).isEqualTo("127.0.0.1");
    assertThat(o.port).isEqualTo(8090);
    assertThat(o.apiKey).isNull();
    assertThat(o.models).isNull();
    assertThat(o.ttftMs).isEqualTo(200);
    assertThat(o.tokensPerSecond).isEqualTo(200);
    assertThat(o.answerTokens).isEqualTo(150);
    assertThat(o.windowMs).isEqualTo(60_000);
    for (Provider p : Provider.values()) {
      assertThat(FakeLlmOptions.limitOf(o.rpm, p)).isZero();
      assertThat(FakeLlmOptions.limitOf(o.tpm, p)).isZero();
    }
  }

  @Test
  void aLimitIsForEveryProviderOrForOne() throws Exception {
    FakeLlmOptions o =
        FakeLlmOptions.parse("--rpm", "500", "--rpm", "gemini=15", "--tpm", "anthropic=40000");
    assertThat(FakeLlmOptions.limitOf(o.rpm, Provider.OPENAI)).isEqualTo(500);
    assertThat(FakeLlmOptions.limitOf(o.rpm, Provider.ANTHROPIC)).isEqualTo(500);
    assertThat(FakeLlmOptions.limitOf(o.rpm, Provider.GEMINI)).isEqualTo(15);
    assertThat(FakeLlmOptions.limitOf(o.tpm, Provider.ANTHROPIC)).isEqualTo(40_000);
    assertThat(FakeLlmOptions.limitOf(o.tpm, Provider.OPENAI)).isZero();
  }

  @Test
  void readsEveryKnob() throws Exception {
    FakeLlmOptions o =
        FakeLlmOptions.parse(
            "--port",
            "0",
            "--models",
            "gpt-4o, claude-x,,",
            "--ttft-ms",
            "0",
            "--tokens-per-second",
            "0",
            "--jitter",
            "0",
            "--answer-tokens",
            "3",
            "--error-rate",
            "0.01",
            "--cut-rate",
            "0.02",
            "--filter-rate",
            "0.5",
            "--window-ms",
            "250",
            "--log-requests");
    assertThat(o.models).containsExactlyInAnyOrder("gpt-4o", "claude-x");
    assertThat(o.errorRate).isEqualTo(0.01);
    assertThat(o.cutRate).isEqualTo(0.02);
    assertThat(o.filterRate).isEqualTo(0.5);
    assertThat(o.windowMs).isEqualTo(250);
    assertThat(o.logRequests).isTrue();
  }

  @Test
  void badValuesAreNamed() {
    assertThatThrownBy(() -> FakeLlmOptions.parse("--rpm", "mistral=3"))
        .hasMessage("--rpm: unknown provider 'mistral' (openai, anthropic or gemini)");
    assertThatThrownBy(() -> FakeLlmOptions.parse("--tpm", "lots"))
        .hasMessage("--tpm needs [PROVIDER=]N, got 'lots'");
    assertThatThrownBy(() -> FakeLlmOptions.parse("--error-rate", "2"))
        .hasMessage("--error-rate must be from 0.0 to 1.0, got 2");
    assertThatThrownBy(() -> FakeLlmOptions.parse("--api-key", " "))
        .hasMessage("--api-key must not be empty");
    assertThatThrownBy(() -> FakeLlmOptions.parse("--port", "70000"))
        .hasMessage("--port must be at most 65535, got 70000");
    assertThatThrownBy(() -> FakeLlmOptions.parse("--answer-tokens", "0"))
        .hasMessage("--answer-tokens must be at least 1, got 0");
  }

  @Test
  void theHelpNamesEveryFlagButTheTestsWindow() {
    String help = FakeLlmOptions.USAGE.text();
    for (String flag :
        new String[] {
          "--host", "--port", "--api-key", "--models", "--ttft-ms", "--tokens-per-second",
          "--jitter", "--answer-tokens", "--error-rate", "--cut-rate", "--filter-rate", "--rpm",
          "--tpm", "--log-requests", "--help"
        }) {
      assertThat(help).contains("  " + flag);
    }
    assertThat(help).doesNotContain("--window-ms");
  }

  @Test
  void theHelpNamesWhatTheStatsSayOfTheLimits() {
    String help = FakeLlmOptions.USAGE.text();
    for (String field :
        new String[] {
          "windows",
          "started_at_ms",
          "rate_limited",
          "complete",
          "max_sliding_requests",
          "max_sliding_tokens"
        }) {
      assertThat(help).contains(field);
    }
  }
}
