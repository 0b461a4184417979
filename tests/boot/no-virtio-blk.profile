# The 'virt' profile's transport without the virtio block driver: the fault test's initramfs.
kernel/drivers/virtio/
virtio_scsi
sd_mod
ext4
