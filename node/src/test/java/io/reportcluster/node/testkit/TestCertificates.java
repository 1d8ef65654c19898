package io.reportcluster.node.testkit;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Throw-away certificates made at test time in a temporary directory (deleted by {@link #close()}),
 * never committed: a CA and the certificates it signs, by openssl (EC P-256, valid 2 days), handed
 * out as PEM files (what redis-server reads) and as PKCS12 stores (what the node reads), all with
 * the password {@link #PASSWORD}. Every certificate names 127.0.0.1 and localhost, so clients that
 * check host names accept them on loopback.
 */
public final class TestCertificates implements AutoCloseable {
  public static final String PASSWORD = "test-store-pass";
  private static final String OPENSSL =
      System.getenv().getOrDefault("REPORTS_TEST_OPENSSL", "openssl");

  /** One signed certificate: its key and certificate as PEM, and both as a PKCS12 key store. */
  public record Issued(Path keyPem, Path certPem, Path keyStore) {}

  private final Path dir;
  private final String name;
  private final Path caKey;
  private final Path caCert;
  private final Path trustStore;

  private TestCertificates(Path dir, String name) {
    this.dir = dir;
    this.name = name;
    this.caKey = dir.resolve(name + "-ca.key");
    this.caCert = dir.resolve(name + "-ca.pem");
    this.trustStore = dir.resolve(name + "-trust.p12");
  }

  /** A new CA named {@code name} (CN "<name> test CA") in a new temporary directory. */
  public static TestCertificates newCa(String name) {
    try {
      TestCertificates ca = new TestCertificates(Files.createTempDirectory("rc-test-tls-"), name);
      ca.makeCa();
      return ca;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The CA's certificate, PEM. */
  public Path caPem() {
    return caCert;
  }

  /** A PKCS12 trust store holding only this CA's certificate. */
  public Path trustStore() {
    return trustStore;
  }

  /** A certificate for {@code cn} signed by this CA (SANs 127.0.0.1 and localhost). */
  public Issued issue(String cn) {
    Path key = dir.resolve(cn + ".key");
    Path csr = dir.resolve(cn + ".csr");
    Path cert = dir.resolve(cn + ".pem");
    Path ext = dir.resolve(cn + ".ext");
    try {
      Files.writeString(
          ext,
          "subjectAltName = IP:127.0.0.1, DNS:localhost\n"
              + "keyUsage = critical, digitalSignature, keyAgreement\n"
              + "extendedKeyUsage = serverAuth, clientAuth\n");
      openssl(
          "req",
          "-new",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:P-256",
          "-nodes",
          "-keyout",
          key.toString(),
          "-out",
          csr.toString(),
          "-subj",
          "/CN=" + cn);
      openssl(
          "x509",
          "-req",
          "-in",
          csr.toString(),
          "-CA",
          caCert.toString(),
          "-CAkey",
          caKey.toString(),
          "-CAcreateserial",
          "-days",
          "2",
          "-extfile",
          ext.toString(),
          "-out",
          cert.toString());
      Path store = dir.resolve(cn + ".p12");
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      List<Certificate> chain = new ArrayList<>(certificates(cert));
      chain.addAll(certificates(caCert));
      ks.setKeyEntry(
          "node", privateKey(key), PASSWORD.toCharArray(), chain.toArray(new Certificate[0]));
      save(ks, store);
      return new Issued(key, cert, store);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A client context that trusts this CA only (for HTTPS calls and TLS probes). */
  public SSLContext clientContext() {
    return clientContext(null);
  }

  /**
   * A client context that trusts this CA only and shows {@code identity}'s certificate when the
   * server asks for one (null: none).
   */
  public SSLContext clientContext(Issued identity) {
    try {
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(load(trustStore));
      KeyManager[] keys = null;
      if (identity != null) {
        KeyManagerFactory kmf =
            KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(load(identity.keyStore()), PASSWORD.toCharArray());
        keys = kmf.getKeyManagers();
      }
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(keys, tmf.getTrustManagers(), null);
      return ctx;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private void makeCa() throws IOException {
    Path ext = dir.resolve(name + "-ca.ext");
    Files.writeString(
        ext,
        "[v3_ca]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n"
            + "subjectKeyIdentifier = hash\n");
    openssl(
        "req",
        "-x509",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        caKey.toString(),
        "-out",
        caCert.toString(),
        "-days",
        "2",
        "-subj",
        "/CN=" + name + " test CA",
        "-config",
        ext.toString(),
        "-extensions",
        "v3_ca");
    try {
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      trust.setCertificateEntry(name + "-ca", certificates(caCert).get(0));
      save(trust, trustStore);
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private void openssl(String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(OPENSSL);
    cmd.addAll(List.of(args));
    Path log = dir.resolve("openssl.log");
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start();
    try {
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IllegalStateException(
            String.join(" ", cmd) + " failed: " + Files.readString(log, StandardCharsets.UTF_8));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static List<Certificate> certificates(Path pem)
      throws IOException, java.security.GeneralSecurityException {
    try (InputStream in = Files.newInputStream(pem)) {
      return new ArrayList<>(CertificateFactory.getInstance("X.509").generateCertificates(in));
    }
  }

  /** openssl 3 writes keys as unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY"). */
  private static PrivateKey privateKey(Path pem)
      throws IOException, java.security.GeneralSecurityException {
    String text = Files.readString(pem, StandardCharsets.US_ASCII);
    String base64 = text.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    return KeyFactory.getInstance("EC")
        .generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(base64)));
  }

  private static KeyStore load(Path p) throws IOException, java.security.GeneralSecurityException {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(p)) {
      ks.load(in, PASSWORD.toCharArray());
    }
    return ks;
  }

  private static void save(KeyStore ks, Path p)
      throws IOException, java.security.GeneralSecurityException {
    try (OutputStream out = Files.newOutputStream(p)) {
      ks.store(out, PASSWORD.toCharArray());
    }
  }

  @Override
  public void close() {
    File[] files = dir.toFile().listFiles();
    if (files != null) for (File f : files) f.delete();
    dir.toFile().delete();
  }
}
