package io.reportcluster.tools.journal;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Jobs' histories held across reads of a journal that is still being written: each refresh asks
 * only for the events newer than those already held, so a tool can follow a few hundred running
 * jobs every second without reading their whole history each time.
 */
public final class JobHistories {
  private final JournalReader reader;
  private final Map<String, List<JournalEvent>> held = new HashMap<>();

  public JobHistories(JournalReader reader) {
    this.reader = reader;
  }

  /** Reads the events of these jobs written since the last refresh, and returns their histories. */
  public synchronized Map<String, JobHistory> refresh(Collection<String> jobIds) {
    Map<String, Long> from = new LinkedHashMap<>();
    for (String id : jobIds) {
      List<JournalEvent> events = held.get(id);
      from.put(
          id,
          events == null || events.isEmpty() ? 1L : events.get(events.size() - 1).sequenceNr() + 1);
    }
    reader
        .events(from)
        .forEach((id, newer) -> held.computeIfAbsent(id, k -> new ArrayList<>()).addAll(newer));
    Map<String, JobHistory> out = new LinkedHashMap<>();
    for (String id : jobIds) out.put(id, new JobHistory(id, held.getOrDefault(id, List.of())));
    return out;
  }
}
