package io.reportcluster.node.testkit;

import io.reportcluster.node.llm.provider.LlmCall;
import io.reportcluster.node.llm.provider.LlmCallException;
import io.reportcluster.node.llm.provider.LlmProvider;
import io.reportcluster.node.llm.provider.LlmRequest;
import java.util.ArrayList;
import java.util.List;
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
  private final List<LlmRequest> cancelled = new ArrayList<>();

  public RecordingProvider(LlmProvider delegate) {
    this.delegate = delegate;
  }

  @Override
  public String name() {
    return delegate.name();
  }

  @Override
  public LlmCall start(LlmRequest request) {
    int now = inFlight.incrementAndGet();
    maxInFlight.accumulateAndGet(now, Math::max);
    synchronized (this) {
      calls.add(request);
    }
    LlmCall call;
    try {
      call = delegate.start(request);
    } catch (RuntimeException thrown) {
      inFlight.decrementAndGet();
      throw thrown;
    }
    // A call is in flight until it answers, fails or is cancelled (a cancel fails its answer).
    return Calls.watched(
        call,
        (text, failure) -> {
          inFlight.decrementAndGet();
          synchronized (this) {
            if (failure == null) answered.add(request);
            else if (cancelledCall(failure)) cancelled.add(request);
          }
        });
  }

  private static boolean cancelledCall(Throwable failure) {
    Throwable t =
        failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
            ? failure.getCause()
            : failure;
    return t instanceof LlmCallException e && e.kind() == LlmCallException.Kind.CANCELLED;
  }

  /** Calls that were cancelled before they answered. */
  public synchronized List<LlmRequest> cancelled() {
    return List.copyOf(cancelled);
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
