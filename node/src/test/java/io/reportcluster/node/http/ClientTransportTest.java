package io.reportcluster.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.UnknownHostException;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSession;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.RemoteAddress;
import org.apache.pekko.http.javadsl.model.SslSessionInfo;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@DisplayName("how a request reached the server, from the connection, never from what it says")
class ClientTransportTest {

  @ParameterizedTest(name = "{0}, TLS {1}: private {2}")
  @CsvSource({
    "127.0.0.1, false, true",
    "127.8.9.10, false, true",
    "::1, false, true",
    "192.0.2.7, false, false",
    "10.0.0.1, false, false",
    "::ffff:192.0.2.7, false, false",
    "2001:db8::1, false, false",
    "192.0.2.7, true, true",
  })
  @DisplayName("private means loopback or TLS: plain HTTP from another machine is not")
  void privateMeansLoopbackOrTls(String client, boolean tls, boolean isPrivate) throws Exception {
    HttpRequest request = from(client);
    if (tls) request = request.addAttribute(AttributeKeys.sslSession, SslSessionInfo.create(tls()));
    assertThat(ClientTransport.isPrivate(request)).isEqualTo(isPrivate);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"X-Forwarded-For", "X-Real-IP", "Forwarded", "Remote-Address"})
  @DisplayName("headers that claim loopback change nothing")
  void forgedHeadersAreIgnored(String header) throws Exception {
    HttpRequest request = from("192.0.2.7").addHeader(RawHeader.create(header, "127.0.0.1"));
    assertThat(ClientTransport.isPrivate(request)).isFalse();
  }

  @org.junit.jupiter.api.Test
  @DisplayName("an https:// request target over plain HTTP is not TLS")
  void httpsTargetIsNotTls() throws Exception {
    HttpRequest request = from("192.0.2.7").withUri("https://127.0.0.1/admin/cluster/members");
    assertThat(ClientTransport.isTls(request)).isFalse();
  }

  @org.junit.jupiter.api.Test
  @DisplayName(
      "the placeholder session of a plain connection is not TLS; no address is not loopback")
  void placeholdersAreNotTrusted() throws Exception {
    SSLSession placeholder = SSLContext.getDefault().createSSLEngine().getSession();
    HttpRequest plain =
        from("192.0.2.7")
            .addAttribute(AttributeKeys.sslSession, SslSessionInfo.create(placeholder));
    assertThat(ClientTransport.isTls(plain)).isFalse();
    assertThat(ClientTransport.isPrivate(HttpRequest.create("/admin"))).isFalse();
    assertThat(ClientTransport.describe(HttpRequest.create("/admin"))).isEqualTo("unknown");
  }

  private static HttpRequest from(String client) throws UnknownHostException {
    return HttpRequest.create("/admin/cluster/members")
        .addAttribute(
            AttributeKeys.remoteAddress, RemoteAddress.create(InetAddress.getByName(client)));
  }

  /** A session that says TLS 1.3, as a real handshake's would. */
  private static SSLSession tls() throws Exception {
    SSLSession placeholder = SSLContext.getDefault().createSSLEngine().getSession();
    return (SSLSession)
        java.lang.reflect.Proxy.newProxyInstance(
            SSLSession.class.getClassLoader(),
            new Class<?>[] {SSLSession.class},
            (proxy, method, args) ->
                method.getName().equals("getProtocol")
                    ? "TLSv1.3"
                    : method.invoke(placeholder, args));
  }
}
