// Offline catalog snapshot: each official extension and the first Talos minor,
// from 1.9 on, whose catalog lists it (from the extension lists per version in
// shared/image-factory/extensions-by-version.tsv), and the image refs and
// digests of the exact versions read from a factory (none yet: this machine
// has no way to the public factory). Regenerate with
// `tsx scripts/refresh-catalog.ts --factory https://factory.talos.dev`;
// do not edit entries by hand.

/** Talos minors this snapshot covers. */
export const SNAPSHOT_MINORS = ["1.9", "1.10", "1.11", "1.12", "1.13", "1.14"] as const;

/** `name firstMinor` per line; the name is without the `siderolabs/` prefix. */
export const EXTENSION_SINCE = `
amazon-ena 1.10
amd-ucode 1.9
amdgpu 1.9
binfmt-misc 1.9
bird2 1.12
bnx2-bnx2x 1.9
btrfs 1.9
chelsio-drivers 1.9
chelsio-firmware 1.9
cloudflared 1.9
crun 1.9
ctr 1.10
drbd 1.9
dvb-cx23885 1.9
dvb-m88ds3103 1.11
ecr-credential-provider 1.9
fuse3 1.9
gasket-driver 1.9
glibc 1.9
gpio-pinctrl 1.12
gvisor 1.9
gvisor-debug 1.9
hailort 1.11
harbor-credential-provider 1.14
hello-world-service 1.9
hyperv-guest-agent 1.14
i915 1.9
intel-ice-firmware 1.9
intel-npu 1.13
intel-ucode 1.9
iscsi-tools 1.9
joydev 1.13
kata-containers 1.9
kata-containers-snp 1.14
lldpd 1.9
mdadm 1.9
mei 1.9
mellanox-mstflint 1.12
metal-agent 1.9
multipath-tools 1.12
nebula 1.10
netbird 1.12
newt 1.11
nfs-utils 1.12
nfsd 1.10
nfsrahead 1.11
nonfree-kmod-nvidia-lts 1.9
nonfree-kmod-nvidia-production 1.9
nut-client 1.9
nvidia-container-toolkit-lts 1.9
nvidia-container-toolkit-production 1.9
nvidia-fabricmanager-lts 1.9
nvidia-fabricmanager-production 1.9
nvidia-gdrdrv-device 1.12
nvidia-open-gpu-kernel-modules-lts 1.9
nvidia-open-gpu-kernel-modules-production 1.9
nvme-cli 1.10
panfrost 1.10
px-fuse 1.13
qemu-guest-agent 1.9
qlogic-firmware 1.9
realtek-firmware 1.9
revpi-firmware 1.10
rockchip-rknn 1.13
soci-snapshotter 1.12
spin 1.9
stargz-snapshotter 1.9
tailscale 1.9
tenstorrent 1.11
thunderbolt 1.9
trident-iscsi-tools 1.12
uhid 1.13
uinput 1.9
usb-audio-drivers 1.12
usb-modem-drivers 1.9
util-linux-tools 1.9
v4l-uvc-drivers 1.9
vc4 1.10
vmtoolsd-guest-agent 1.9
wasmedge 1.9
xdma-driver 1.10
xe 1.12
xen-guest-agent 1.9
youki 1.10
zerotier 1.10
zfs 1.9
`;

/**
 * Image ref and digest per exact Talos version, per extension name (overlays as
 * `overlay:<name>`), as the factory listed them when the snapshot was refreshed.
 */
export const IMAGE_DIGESTS: Readonly<
  Record<string, Readonly<Record<string, readonly [ref: string, digest: string]>>>
> = {};
