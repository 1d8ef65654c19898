package io.reportcluster.tools.loadgen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class LoadGenOptionsTest {
  @Test
  void jobsNameTheNodesDefaultProviderOneEntryOrAFallbackChain() throws Exception {
    LoadGenOptions none = LoadGenOptions.parse(new String[0]);
    assertThat(none.provider).isNull();
    assertThat(none.providers).isNull();
    assertThat(LoadGenOptions.parse(new String[] {"--provider", "gemini"}).provider)
        .isEqualTo("gemini");
    assertThat(LoadGenOptions.parse(new String[] {"--providers", "openai, anthropic,"}).providers)
        .containsExactly("openai", "anthropic");
  }

  @Test
  void oneProviderAndAChainAreNotGivenTogether() {
    assertThatThrownBy(
            () ->
                LoadGenOptions.parse(
                    new String[] {"--provider", "openai", "--providers", "openai,anthropic"}))
        .hasMessage("give --provider or --providers, not both");
    assertThatThrownBy(() -> LoadGenOptions.parse(new String[] {"--providers", " , "}))
        .hasMessage("--providers needs at least one name");
  }

  @Test
  void theAcceptedIdsGoToAFileOnlyWhenAsked() throws Exception {
    assertThat(LoadGenOptions.parse(new String[0]).jobIdsFile).isNull();
    assertThat(LoadGenOptions.parse(new String[] {"--job-ids", "/tmp/ids"}).jobIdsFile)
        .hasToString("/tmp/ids");
  }

  @Test
  void submitsArePacedOnlyWhenARateIsGiven() throws Exception {
    assertThat(LoadGenOptions.parse(new String[0]).rate).isZero();
    assertThat(LoadGenOptions.parse(new String[] {"--rate", "200"}).rate).isEqualTo(200.0);
    assertThat(LoadGenOptions.parse(new String[] {"--rate", "0.5"}).rate).isEqualTo(0.5);
    assertThatThrownBy(() -> LoadGenOptions.parse(new String[] {"--rate", "0"}))
        .hasMessageContaining("--rate");
    assertThatThrownBy(() -> LoadGenOptions.parse(new String[] {"--rate", "fast"}))
        .hasMessageContaining("--rate");
  }

  @Test
  void theHelpNamesTheNewOptions() {
    assertThat(LoadGenOptions.USAGE.text())
        .contains("  --provider NAME", "  --providers A,B", "  --job-ids FILE", "  --rate R");
  }
}
