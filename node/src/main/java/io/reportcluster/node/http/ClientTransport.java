package io.reportcluster.node.http;

import java.net.InetAddress;
import java.util.Optional;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.RemoteAddress;
import org.apache.pekko.http.javadsl.model.SslSessionInfo;

/**
 * How a request reached the server, from what the connection says rather than what the client
 * wrote: headers such as {@code X-Forwarded-For} or an absolute {@code https://} request target are
 * the client's to forge. Needs {@code remote-address-attribute} (set by {@link HttpServer}) and, to
 * see TLS, {@code pekko.http.server.parsing.ssl-session-attribute = on} (set in application.conf).
 */
final class ClientTransport {
  private ClientTransport() {}

  /**
   * Whether the request came over TLS. A plain connection carries a session too (Pekko's
   * placeholder, whose protocol is "NONE"), so the session's protocol decides.
   */
  static boolean isTls(HttpRequest request) {
    return request
        .getAttribute(AttributeKeys.sslSession)
        .map(SslSessionInfo::getSession)
        .map(session -> session.getProtocol() != null && !session.getProtocol().equals("NONE"))
        .orElse(false);
  }

  /** Whether the client is on this machine (its address is a loopback one). */
  static boolean isLoopback(HttpRequest request) {
    Optional<RemoteAddress> remote = request.getAttribute(AttributeKeys.remoteAddress);
    return remote
        .flatMap(RemoteAddress::getAddress)
        .map(InetAddress::isLoopbackAddress)
        .orElse(false);
  }

  /**
   * Whether credentials and commands may travel this way: over TLS, or on loopback where nobody
   * else can read them. Plain HTTP from beyond this machine may not.
   */
  static boolean isPrivate(HttpRequest request) {
    return isTls(request) || isLoopback(request);
  }

  /** The client's address for a log line, or "unknown". */
  static String describe(HttpRequest request) {
    return request
        .getAttribute(AttributeKeys.remoteAddress)
        .flatMap(RemoteAddress::getAddress)
        .map(InetAddress::getHostAddress)
        .orElse("unknown");
  }
}
