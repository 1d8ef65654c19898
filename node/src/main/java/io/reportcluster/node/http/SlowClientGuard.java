package io.reportcluster.node.http;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.RemoteAddress;
import org.apache.pekko.http.javadsl.model.ResponseEntity;
import org.apache.pekko.io.Inet;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closes a connection whose client takes longer than {@code reports.http.request-header-timeout} to
 * send a request's headers (slowloris). Pekko HTTP has no such bound of its own: its
 * request-timeout starts only once a request has arrived, and its idle-timeout is reset by every
 * byte, so a client sending one header byte a second would keep its connection for as long as it
 * liked.
 *
 * <p>It watches from both ends. As a socket option it is handed every socket the server accepts;
 * around the routes it learns when a request has arrived (its headers are complete, so routing
 * starts) and when its answer has been sent (a stream's answer when the stream ends). A connection
 * that has had no request in progress for longer than the timeout, since it opened or since its
 * last answer, is one whose client sends nothing or sends its headers too slowly: its input is shut
 * down, and Pekko, reading the end of the stream, closes it. If part of a request had come, Pekko's
 * parser first answers it, as a 408 ({@link JsonParsingErrorHandler}); a connection that sent
 * nothing gets no answer (HTTP has none for a request that never began), so an idle keep-alive
 * connection is closed after the same time.
 */
final class SlowClientGuard extends Inet.AbstractSocketOption {
  private static final Logger log = LoggerFactory.getLogger(SlowClientGuard.class);

  private final Duration timeout;
  private final Map<InetSocketAddress, Connection> connections = new ConcurrentHashMap<>();

  /** One accepted connection: how many of its requests are in progress, and since when none is. */
  private static final class Connection {
    final Socket socket;
    final AtomicInteger inProgress = new AtomicInteger();
    volatile long idleSince = System.nanoTime();

    Connection(Socket socket) {
      this.socket = socket;
    }

    void requestArrived() {
      inProgress.incrementAndGet();
    }

    void answered() {
      idleSince = System.nanoTime();
      inProgress.decrementAndGet();
    }
  }

  SlowClientGuard(Duration timeout) {
    this.timeout = timeout;
  }

  /** Checks the connections a few times per timeout, so one is closed at most ~1/4 late. */
  Cancellable start(ActorSystem<?> system) {
    Duration every = timeout.dividedBy(4);
    if (every.compareTo(Duration.ofSeconds(1)) > 0) every = Duration.ofSeconds(1);
    if (every.compareTo(Duration.ofMillis(50)) < 0) every = Duration.ofMillis(50);
    return system
        .scheduler()
        .scheduleAtFixedRate(every, every, this::sweep, system.executionContext());
  }

  @Override
  public void afterConnect(Socket socket) {
    if (socket.getRemoteSocketAddress() instanceof InetSocketAddress remote) {
      connections.put(remote, new Connection(socket));
    }
  }

  /**
   * Called when a request has arrived (its headers are complete): the returned function hands its
   * response on, and tells this guard once that response has been sent.
   */
  UnaryOperator<HttpResponse> arrived(HttpRequest request) {
    Connection c = connectionOf(request);
    if (c == null) return response -> response;
    c.requestArrived();
    return response -> whenSent(response, c);
  }

  private Connection connectionOf(HttpRequest request) {
    Optional<RemoteAddress> remote = request.getAttribute(AttributeKeys.remoteAddress);
    if (remote.isEmpty()) return null;
    Optional<InetAddress> address = remote.get().getAddress();
    return address
        .map(a -> connections.get(new InetSocketAddress(a, remote.get().getPort())))
        .orElse(null);
  }

  /** The response, telling {@code c} once it has been sent: at once if strict, else at its end. */
  private static HttpResponse whenSent(HttpResponse response, Connection c) {
    ResponseEntity entity = response.entity();
    if (entity.isStrict()) {
      c.answered();
      return response;
    }
    Source<ByteString, Object> data =
        entity
            .getDataBytes()
            .watchTermination(
                (mat, done) -> {
                  done.whenComplete((ok, failure) -> c.answered());
                  return mat;
                });
    return response.withEntity(rewrapped(entity, data));
  }

  private static ResponseEntity rewrapped(HttpEntity entity, Source<ByteString, Object> data) {
    if (entity.isCloseDelimited())
      return HttpEntities.createCloseDelimited(entity.getContentType(), data);
    if (entity.getContentLengthOption().isPresent())
      return HttpEntities.create(
          entity.getContentType(), entity.getContentLengthOption().getAsLong(), data);
    return HttpEntities.createChunked(entity.getContentType(), data);
  }

  private void sweep() {
    long now = System.nanoTime();
    connections.forEach(
        (remote, c) -> {
          if (c.socket.isClosed()) {
            connections.remove(remote, c);
          } else if (c.inProgress.get() == 0 && now - c.idleSince > timeout.toNanos()) {
            connections.remove(remote, c);
            log.debug(
                "closing the connection of {}: no complete request within {} ms",
                remote,
                timeout.toMillis());
            try {
              // The server then reads the end of the stream and closes the connection itself.
              c.socket.shutdownInput();
            } catch (IOException e) {
              log.debug("could not shut down the input of {}: {}", remote, e.toString());
            }
          }
        });
  }
}
