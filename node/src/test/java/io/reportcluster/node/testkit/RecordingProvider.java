package io.reportcluster.node.testkit;

import io.reportcluster.node.llm.LlmProvider;
import io.reportcluster.node.llm.LlmRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Stands where a provider's server would: passes each call to a real provider (usually the
 * simulated one) and records what it saw, so tests measure concurrency and repeats instead of
 * assuming them.
 */
public final class RecordingProvider implements LlmProvider {
  private final LlmProvider delegate;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger maxInFlight = new AtomicInteger();
  private final List<LlmRequest> calls = new ArrayList<>();
  private final List<LlmRequest> answered = new ArrayList<>();

  public RecordingProvider(LlmProvider delegate) {
    this.delegate = delegate;
  }

  @Override
  public String name() {
    return delegate.name();
  }

  @Override
  public CompletionStage<String> complete(LlmRequest request) {
    int now = inFlight.incrementAndGet();
    maxInFlight.accumulateAndGet(now, Math::max);
    synchronized (this) {
      calls.add(request);
    }
    CompletionStage<String> answer;
    try {
      answer = delegate.complete(request);
    } catch (RuntimeException thrown) {
      inFlight.decrementAndGet();
      throw thrown;
    }
    return answer.whenComplete((text, failure) -> {
      inFlight.decrementAndGet();
      if (failure == null) {
        synchronized (this) {
          answered.add(request);
        }
      }
    });
  }

  public int inFlight() {
    return inFlight.get();
  }

  /** The most calls that were ever in flight at once. */
  public int maxInFlight() {
    return maxInFlight.get();
  }

  public synchronized List<LlmRequest> calls() {
    return List.copyOf(calls);
  }

  /** Calls that got an answer (not a failure). */
  public synchronized List<LlmRequest> answered() {
    return List.copyOf(answered);
  }
}
