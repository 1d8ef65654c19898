package io.reportcluster.tools.journal;

import static org.assertj.core.api.Assertions.assertThat;

import io.reportcluster.node.job.ReportJob;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What the tools conclude from a job's typed events (no journal needed: the events are built here).
 */
class JobHistoryTest {
  private static final Instant T = Instant.parse("2025-01-01T00:00:00Z");

  private static final List<JournalEvent> SUCCEEDED =
      List.of(
          new JournalEvent(
              1,
              1_000,
              new ReportJob.Submitted("j", "Acme", "simulated", null, List.of("a", "b"), T)),
          new JournalEvent(2, 1_100, new ReportJob.AttemptStarted(0, 1, T)),
          new JournalEvent(3, 1_200, new ReportJob.StepCompleted(0, 1, "out", T, T)),
          new JournalEvent(4, 1_300, new ReportJob.AttemptStarted(1, 1, T)),
          new JournalEvent(5, 1_400, new ReportJob.AttemptFailed(1, 1, "timeout", T, T, T)),
          new JournalEvent(6, 1_500, new ReportJob.AttemptStarted(1, 2, T)),
          new JournalEvent(
              7,
              1_600,
              new ReportJob.StepCompleted(
                  1, 2, "out", T, T, "openai", "gpt-4o-mini", 100, 40, 0.002, "STOP")),
          new JournalEvent(8, 1_700, new ReportJob.Succeeded("report", T)));

  @Test
  void aHistoryCountsItsEventsByType() {
    JobHistory h = new JobHistory("j", SUCCEEDED);
    assertThat(h.count(ReportJob.Submitted.class)).isEqualTo(1);
    assertThat(h.count(ReportJob.AttemptStarted.class)).isEqualTo(3);
    assertThat(h.count(ReportJob.AttemptFailed.class)).isEqualTo(1);
    assertThat(h.stepCount()).isEqualTo(2);
    assertThat(h.completedSteps()).containsExactly(0, 1);
  }

  @Test
  void aJobIsFinishedOnceItsFinalEventIsWritten() {
    JobHistory h = new JobHistory("j", SUCCEEDED);
    assertThat(h.finishedBy(1_699)).isFalse();
    assertThat(h.finishedBy(1_700)).isTrue();
    assertThat(new JobHistory("j", SUCCEEDED.subList(0, 7)).finishedBy(Long.MAX_VALUE)).isFalse();
    assertThat(new JobHistory("j", List.of()).stepCount()).isEqualTo(-1);
  }

  @Test
  void statsTimeARunFromTheFirstSubmitToTheLastSuccessAndSumItsTokensAndCost() {
    List<JournalEvent> other =
        List.of(
            new JournalEvent(
                1, 900, new ReportJob.Submitted("k", "Beta", "simulated", null, List.of("a"), T)),
            new JournalEvent(2, 950, new ReportJob.Cancelled(T)));
    assertThat(print(JournalStats.Figures.of(List.of(SUCCEEDED, other), Long.MIN_VALUE)))
        .isEqualTo(
            String.join(
                "\n",
                "jobs: 2",
                "submitted: 2",
                "succeeded: 1",
                "failed: 0",
                "cancelled: 1",
                "first_submitted_ms: 900",
                "last_succeeded_ms: 1700",
                "span_s: 0.800",
                "input_tokens: 100",
                "output_tokens: 40",
                "cost_usd: 0.002000",
                ""));
    assertThat(print(JournalStats.Figures.of(List.of(SUCCEEDED, other), 1_000)))
        .contains("submitted: 1\n", "cancelled: 0\n", "span_s: 0.700\n");
    assertThat(print(JournalStats.Figures.of(List.of(other.subList(0, 1)), 0).withoutEnds()))
        .contains(
            "submitted: 1\n",
            "succeeded: n/a\n",
            "last_succeeded_ms: n/a\n",
            "span_s: n/a\n",
            "input_tokens: n/a\n");
  }

  private static String print(JournalStats.Figures figures) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    figures.print(new PrintStream(out, true, StandardCharsets.UTF_8));
    return out.toString(StandardCharsets.UTF_8);
  }
}
