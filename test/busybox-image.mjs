// An OCI image of Debian's busybox-static, built here and not pulled: one
// uncompressed layer (the static busybox and a symlink for each applet, as
// `busybox --install -s` would make them), in an OCI image layout written
// to a tarball that `ctr image import` reads.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const BUSYBOX = '/bin/busybox';

/** OCI's names for node's architectures. */
const ARCHITECTURES = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

/** A blob written under blobs/sha256 of `layout`: its descriptor. */
function writeBlob(layout, mediaType, content) {
  const hex = createHash('sha256').update(content).digest('hex');
  writeFileSync(join(layout, 'blobs', 'sha256', hex), content);
  return { mediaType, digest: `sha256:${hex}`, size: content.length };
}

/** The layer's tarball: busybox in /bin, each applet a symlink to it where busybox says it goes. */
function busyboxLayer(work) {
  const root = join(work, 'rootfs');
  mkdirSync(join(root, 'bin'), { recursive: true });
  copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
  const applets = execFileSync(BUSYBOX, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const applet of applets) {
    if (applet === 'bin/busybox') continue;
    mkdirSync(join(root, dirname(applet)), { recursive: true });
    symlinkSync('/bin/busybox', join(root, applet));
  }
  mkdirSync(join(root, 'tmp'));
  const layer = join(work, 'layer.tar');
  execFileSync('tar', ['--create', '--file', layer, '--directory', root, '--owner=0', '--group=0', '--numeric-owner', '--sort=name', '--mtime=@0', '.']);
  return readFileSync(layer);
}

/**
 * Writes the image `name` (a full reference, `docker.io/library/busybox:nsnet`)
 * to `file`, an OCI image layout tarball; returns the manifest's digest.
 */
export function writeBusyboxImage(file, name) {
  const work = mkdtempSync(join(tmpdir(), 'nsnet-image-'));
  try {
    const layout = join(work, 'layout');
    mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
    const layer = writeBlob(layout, 'application/vnd.oci.image.layer.v1.tar', busyboxLayer(work));
    const config = {
      architecture: ARCHITECTURES[process.arch] ?? process.arch,
      os: 'linux',
      config: { Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
      // Uncompressed, the layer's digest is its diff id.
      rootfs: { type: 'layers', diff_ids: [layer.digest] },
    };
    const configBlob = writeBlob(layout, 'application/vnd.oci.image.config.v1+json', Buffer.from(JSON.stringify(config)));
    const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configBlob, layers: [layer] };
    const manifestBlob = writeBlob(layout, manifest.mediaType, Buffer.from(JSON.stringify(manifest)));
    const tag = name.slice(name.lastIndexOf(':') + 1);
    const annotations = { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': tag };
    const index = { schemaVersion: 2, manifests: [{ ...manifestBlob, annotations }] };
    writeFileSync(join(layout, 'index.json'), JSON.stringify(index));
    writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    execFileSync('tar', ['--create', '--file', file, '--directory', layout, '--owner=0', '--group=0', '--numeric-owner', 'oci-layout', 'index.json', 'blobs']);
    return manifestBlob.digest;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
