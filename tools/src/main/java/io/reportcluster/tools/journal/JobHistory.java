package io.reportcluster.tools.journal;

import io.reportcluster.node.job.ReportJob;
import java.util.List;

/** Every event of one job that the journal had when it was read, in sequence order. */
public record JobHistory(String jobId, List<JournalEvent> events) {

  public JobHistory {
    events = List.copyOf(events);
  }

  /** How many events of this type the job has. */
  public int count(Class<? extends ReportJob.Event> type) {
    return (int) events.stream().filter(e -> type.isInstance(e.event())).count();
  }

  /**
   * True when a final event (Succeeded, JobFailed, Cancelled) was written at or before this time.
   */
  public boolean finishedBy(long wallMs) {
    return events.stream().anyMatch(e -> e.isFinal() && e.writtenAtMs() <= wallMs);
  }

  /** The steps the job was submitted with; -1 when it has no Submitted event. */
  public int stepCount() {
    return events.stream()
        .map(JournalEvent::event)
        .filter(ReportJob.Submitted.class::isInstance)
        .map(e -> ((ReportJob.Submitted) e).steps())
        .filter(s -> s != null && !s.isEmpty())
        .mapToInt(List::size)
        .findFirst()
        .orElse(-1);
  }

  /**
   * The step index of every StepCompleted, in journal order (a step twice is a step recorded
   * twice).
   */
  public List<Integer> completedSteps() {
    return events.stream()
        .map(JournalEvent::event)
        .filter(ReportJob.StepCompleted.class::isInstance)
        .map(e -> ((ReportJob.StepCompleted) e).step())
        .toList();
  }
}
