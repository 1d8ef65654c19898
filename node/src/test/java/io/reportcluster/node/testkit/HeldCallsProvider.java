package io.reportcluster.node.testkit;

import io.reportcluster.node.llm.provider.LlmCall;
import io.reportcluster.node.llm.provider.LlmCallException;
import io.reportcluster.node.llm.provider.LlmProvider;
import io.reportcluster.node.llm.provider.LlmRequest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A provider the test drives by hand: calls of the startups it was told to hold wait until the test
 * answers or fails them, so a job can be observed in each state for as long as needed (no timing
 * luck). Calls of every other startup go to the delegate.
 */
public final class HeldCallsProvider implements LlmProvider {

  /** One call waiting for the test's decision. */
  public record HeldCall(LlmRequest request, CompletableFuture<String> answer) {
    public void answer(String text) {
      answer.complete(text);
    }

    public void fail(LlmCallException.Kind kind, String message) {
      answer.completeExceptionally(new LlmCallException(kind, message));
    }
  }

  private final LlmProvider delegate;
  private final Map<String, Predicate<LlmRequest>> held = new ConcurrentHashMap<>();
  private final Map<String, BlockingQueue<HeldCall>> calls = new ConcurrentHashMap<>();

  /** Every held call not answered yet, taken by the test or not. */
  private final Set<HeldCall> unanswered = ConcurrentHashMap.newKeySet();

  private final List<LlmRequest> cancelled = new java.util.concurrent.CopyOnWriteArrayList<>();

  public HeldCallsProvider(LlmProvider delegate) {
    this.delegate = delegate;
  }

  @Override
  public String name() {
    return delegate.name();
  }

  /** From now on, calls for jobs of this startup wait for the test. */
  public void hold(String startup) {
    held.put(startup, request -> true);
  }

  /**
   * From now on, calls of this startup's jobs for step {@code fromStep} (0-based) and later wait.
   */
  public void holdFromStep(String startup, int fromStep) {
    held.put(startup, request -> request.step() >= fromStep);
  }

  private boolean isHeld(LlmRequest request) {
    Predicate<LlmRequest> which = held.get(request.startup());
    return which != null && which.test(request);
  }

  /**
   * Stops holding this startup's calls: every held call not answered yet (taken by the test or not)
   * and every later one go to the delegate. Tests release what they held so that no caller stays
   * busy after them.
   */
  public void release(String startup) {
    held.remove(startup);
    queue(startup).clear();
    for (HeldCall call : unanswered) {
      if (!call.request().startup().equals(startup)
          || !unanswered.remove(call)
          || call.answer().isDone()) continue;
      delegate
          .start(call.request())
          .answer()
          .whenComplete(
              (text, failure) -> {
                if (failure != null) call.answer().completeExceptionally(failure);
                else call.answer().complete(text);
              });
    }
  }

  /** Releases every startup: nothing stays held (for the end of a test, whatever happened). */
  public void releaseAll() {
    for (HeldCall call : unanswered) release(call.request().startup());
    for (String startup : held.keySet()) release(startup);
  }

  @Override
  public LlmCall start(LlmRequest request) {
    if (!isHeld(request)) return delegate.start(request);
    HeldCall call = new HeldCall(request, new CompletableFuture<>());
    unanswered.add(call);
    call.answer().whenComplete((text, failure) -> unanswered.remove(call));
    queue(request.startup()).add(call);
    // Released in between: the call must not wait for a decision that never comes.
    if (!held.containsKey(request.startup())) release(request.startup());
    return LlmCall.of(call.answer(), () -> cancelled.add(call.request()));
  }

  /** Held calls that the node cancelled (timeout, cancelled or moved job, downed node, drain). */
  public List<LlmRequest> cancelled() {
    return List.copyOf(cancelled);
  }

  /** The next call made for this startup, waiting up to the deadline for it. */
  public HeldCall nextCall(String startup, Duration deadline) {
    try {
      HeldCall call = queue(startup).poll(deadline.toMillis(), TimeUnit.MILLISECONDS);
      if (call == null)
        throw new AssertionError(
            "no LLM call for '" + startup + "' within " + deadline.toSeconds() + " s");
      return call;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private BlockingQueue<HeldCall> queue(String startup) {
    return calls.computeIfAbsent(startup, s -> new LinkedBlockingQueue<>());
  }
}
