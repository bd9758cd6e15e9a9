// SPDX-License-Identifier: GPL-2.0-only
/*
 * guest_memfd: KVM's side of private memory.  The fd is a privmem file
 * owned by one VM; memslots bind ranges of it, and the allocator's
 * callbacks zap those ranges before any page leaves the file.
 *
 * With GUEST_MEMFD_FLAG_MMAP the VMM may mmap() the file, and a slot bound
 * to it takes its shared pages from the file too (KVM_MEMSLOT_GMEM_ONLY).
 * Which pages the host may reach is the allocator's business; KVM decides:
 * at creation (GUEST_MEMFD_FLAG_INIT_SHARED: all of them), and in a VM
 * with private memory whenever the attributes of a GFN that such a slot
 * maps change, which converts its page in place (kvm_gmem_convert()).
 * Such a page is host-shared only while its GFN is shared.
 *
 * A VM type whose pages are private because firmware says so (SEV-SNP's
 * RMP) makes a page private for the vendor through kvm_gmem_populate() (at
 * launch) or kvm_gmem_make_private() (at a private fault); the file
 * remembers which pages those are (kvm_gmem.vendor) and gives each back
 * to the vendor (kvm_arch_gmem_invalidate()) after its mappings are zapped
 * and before it leaves the file or becomes host-shared in place, so no
 * page the vendor still owns reaches the allocator or the host.
 *
 * Lock order: kvm->slots_lock, then kvm_gmem.lock, then kvm->mmu_lock.
 * The allocator calls invalidate_begin/end with its invalidate lock held,
 * which nests outside kvm_gmem.lock and is never taken under it; it calls
 * error with a page locked, and release and error under its owner lock.
 */

#include <linux/file.h>
#include <linux/kvm_host.h>
#include <linux/pagemap.h>
#include <linux/privmem.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "kvm_mm.h"

struct kvm_gmem {
	struct kvm *kvm;
	u64 flags;			/* GUEST_MEMFD_FLAG_*, from creation */
	struct mutex lock;		/* protects bindings */
	struct list_head bindings;	/* memslots, by slot->gmem.node */
	/*
	 * invalidate_begin marked an invalidation that invalidate_end must
	 * close.  Both run under the file's invalidate lock, held
	 * exclusively from one to the other.
	 */
	bool invalidating;
	/*
	 * File index -> pfn (xa_mk_value()) of the pages made private for
	 * the vendor, under lock.  seq is odd while an invalidation is
	 * between its begin and end, when pages may be leaving the file:
	 * nothing is made private for the vendor then.
	 */
	struct xarray vendor;
	unsigned long seq;
};

/*
 * 6.1's fault retry check compares HVAs, and private faults have none:
 * they carry KVM_HVA_ERR_BAD, so invalidating just that address makes
 * every private fault of the VM retry while leaving shared faults alone.
 */
#define KVM_GMEM_HVA_START	KVM_HVA_ERR_BAD
#define KVM_GMEM_HVA_END	(KVM_HVA_ERR_BAD + 1)

/*
 * The memslot through which @slot's SPTEs are zapped, or NULL if it can
 * have none.  A slot is bound before it is installed and unbound after it
 * is gone; before it is installed it has no arch metadata and no SPTE.
 * While it is being deleted, 6.1 first installs an INVALID copy of it
 * (same GFNs, same arch metadata), waits for SRCU readers, and only then
 * zaps the slot: in that window vCPUs still map its pages, and a zap must
 * go through the copy.  Called under mmu_lock after the invalidation
 * began: a fault that saw the slot installed has either mapped already,
 * and then this sees the slot or its copy, or will retry.
 */
static struct kvm_memory_slot *kvm_gmem_zap_slot(struct kvm *kvm,
						 struct kvm_memory_slot *slot)
{
	struct kvm_memory_slot *active;

	active = id_to_memslot(__kvm_memslots(kvm, slot->as_id), slot->id);
	if (active == slot)
		return slot;
	if (active && (active->flags & KVM_MEMSLOT_INVALID) &&
	    active->base_gfn == slot->base_gfn && active->npages == slot->npages)
		return active;
	return NULL;
}

/* Zap the GFNs that file pages [@start, @end) back in every bound slot. */
static bool kvm_gmem_unmap_bindings(struct kvm_gmem *gmem, pgoff_t start,
				    pgoff_t end)
{
	struct kvm_memory_slot *slot;
	bool flush = false;

	lockdep_assert_held(&gmem->lock);
	lockdep_assert_held_write(&gmem->kvm->mmu_lock);

	list_for_each_entry(slot, &gmem->bindings, gmem.node) {
		pgoff_t first = max(start, slot->gmem.pgoff);
		pgoff_t last = min(end, slot->gmem.pgoff + slot->npages);
		struct kvm_gfn_range range = {
			.start		= slot->base_gfn + first - slot->gmem.pgoff,
			.end		= slot->base_gfn + last - slot->gmem.pgoff,
			.pte		= __pte(0),
			.may_block	= true,
		};

		if (first >= last)
			continue;
		range.slot = kvm_gmem_zap_slot(gmem->kvm, slot);
		if (!range.slot)
			continue;
		/*
		 * Unless the slot takes every page from the file, only
		 * private GFNs map guest_memfd pages, and making a GFN shared
		 * zapped it: a wholly shared range needs no walk.
		 */
		if (!kvm_slot_is_gmem_only(slot) &&
		    kvm_range_has_uniform_attributes(gmem->kvm, range.start, range.end) &&
		    !kvm_mem_is_private(gmem->kvm, range.start))
			continue;
		flush |= kvm_unmap_gfn_range(gmem->kvm, &range);
	}
	return flush;
}

/*
 * Default for architectures whose private pages need nothing from a vendor
 * before the host gets them back.
 */
void __weak kvm_arch_gmem_invalidate(struct kvm *kvm, kvm_pfn_t pfn)
{
}

/* Default: a vendor's page stays its own while it is in the file. */
bool __weak kvm_arch_gmem_release_on_shared(struct kvm *kvm)
{
	return false;
}

/*
 * File pages [@start, @end) are about to leave the file and their mappings
 * are gone: give the ones the vendor owns back to the host.
 */
static void kvm_gmem_return_pages(struct kvm_gmem *gmem, pgoff_t start,
				  pgoff_t end)
{
	unsigned long index;
	void *entry;

	lockdep_assert_held(&gmem->lock);

	xa_for_each_range(&gmem->vendor, index, entry, start, end - 1) {
		kvm_arch_gmem_invalidate(gmem->kvm, xa_to_value(entry));
		xa_erase(&gmem->vendor, index);
	}
}

/* The same, taking the lock; for conversions to shared, which zapped. */
static void kvm_gmem_return_unlocked(struct kvm_gmem *gmem, pgoff_t start,
				     pgoff_t end)
{
	mutex_lock(&gmem->lock);
	kvm_gmem_return_pages(gmem, start, end);
	mutex_unlock(&gmem->lock);
}

/*
 * Pages [@start, @end) become host-shared in place: give back the ones the
 * vendor owns, cleared.  Their content is the guest's private data, which
 * the vendor's hardware would show the host only as ciphertext; the guest
 * must not find it in its shared page either.  The pages are still
 * private (out of the direct map), so they are cleared through an alias.
 * -ENOMEM leaves the rest private; the caller fails and may be repeated.
 */
static int kvm_gmem_return_cleared(struct kvm_gmem *gmem, pgoff_t start,
				   pgoff_t end)
{
	unsigned long index;
	struct page *page;
	void *entry, *va;
	int r = 0;

	mutex_lock(&gmem->lock);
	xa_for_each_range(&gmem->vendor, index, entry, start, end - 1) {
		page = pfn_to_page(xa_to_value(entry));
		va = privmem_vmap(&page, 1);
		if (!va) {
			r = -ENOMEM;
			break;
		}
		kvm_arch_gmem_invalidate(gmem->kvm, xa_to_value(entry));
		xa_erase(&gmem->vendor, index);
		clear_page(va);
		vunmap(va);
	}
	mutex_unlock(&gmem->lock);
	return r;
}

/*
 * A memory error hit file pages [@start, @end): zap them now.  A fault
 * that looked the page up before is retried by the invalidation and then
 * finds it poisoned (-EHWPOISON, KVM_EXIT_MEMORY_FAULT).  Not under the
 * file's invalidate lock, so this opens and closes its own invalidation.
 */
static void kvm_gmem_error(void *owner, pgoff_t start, pgoff_t end)
{
	struct kvm_gmem *gmem = owner;
	struct kvm *kvm = gmem->kvm;
	int idx;

	idx = srcu_read_lock(&kvm->srcu);
	mutex_lock(&gmem->lock);
	KVM_MMU_LOCK(kvm);
	kvm_mmu_invalidate_begin(kvm, KVM_GMEM_HVA_START, KVM_GMEM_HVA_END);
	if (kvm_gmem_unmap_bindings(gmem, start, end))
		kvm_flush_remote_tlbs(kvm);
	kvm_mmu_invalidate_end(kvm, KVM_GMEM_HVA_START, KVM_GMEM_HVA_END);
	KVM_MMU_UNLOCK(kvm);
	mutex_unlock(&gmem->lock);
	srcu_read_unlock(&kvm->srcu, idx);
}

/*
 * Begin an invalidation of file pages [@start, @end): zap them.  Private
 * faults retry until invalidate_end: none can map a page that is being
 * freed or moved.  A file bound to no slot has handed out no pfn that a
 * fault could still map (privmem_get_pfn() waits for the invalidate lock),
 * so it stalls nothing.  The caller holds kvm->srcu, which keeps the
 * memslots that kvm_gmem_zap_slot() looks at.
 */
static void __kvm_gmem_invalidate_begin(struct kvm_gmem *gmem, pgoff_t start,
					pgoff_t end)
{
	struct kvm *kvm = gmem->kvm;

	lockdep_assert_held(&gmem->lock);

	gmem->seq++;
	gmem->invalidating = !list_empty(&gmem->bindings);
	if (gmem->invalidating) {
		KVM_MMU_LOCK(kvm);
		kvm_mmu_invalidate_begin(kvm, KVM_GMEM_HVA_START, KVM_GMEM_HVA_END);
		if (kvm_gmem_unmap_bindings(gmem, start, end))
			kvm_flush_remote_tlbs(kvm);
		KVM_MMU_UNLOCK(kvm);
	}
}

static void kvm_gmem_invalidate_begin(void *owner, pgoff_t start, pgoff_t end)
{
	struct kvm_gmem *gmem = owner;
	int idx;

	idx = srcu_read_lock(&gmem->kvm->srcu);
	mutex_lock(&gmem->lock);
	__kvm_gmem_invalidate_begin(gmem, start, end);
	/* After the zap: no SPTE maps a page that is the host's again. */
	kvm_gmem_return_pages(gmem, start, end);
	mutex_unlock(&gmem->lock);
	srcu_read_unlock(&gmem->kvm->srcu, idx);
}

/*
 * The allocator wants to replace file pages [@start, @end) by copies (to
 * merge them into one huge folio).  A page the vendor owns must not move:
 * its content is the vendor's, bound to where it is, so such a range stays
 * as it is.  Pages the host owns (every page of a software-protected VM)
 * may: their mappings are zapped as for a punch, and the next fault maps
 * the new folio, whole where the attributes allow.  The check and the
 * start of the invalidation are one step under gmem->lock, and with the
 * invalidation begun no page is made the vendor's (kvm_gmem_commit()).
 */
static int kvm_gmem_move_begin(void *owner, pgoff_t start, pgoff_t end)
{
	struct kvm_gmem *gmem = owner;
	unsigned long first = start;
	int idx, r = 0;

	idx = srcu_read_lock(&gmem->kvm->srcu);
	mutex_lock(&gmem->lock);
	if (xa_find(&gmem->vendor, &first, end - 1, XA_PRESENT))
		r = -EBUSY;
	else
		__kvm_gmem_invalidate_begin(gmem, start, end);
	mutex_unlock(&gmem->lock);
	srcu_read_unlock(&gmem->kvm->srcu, idx);
	return r;
}

static void kvm_gmem_invalidate_end(void *owner, pgoff_t start, pgoff_t end)
{
	struct kvm_gmem *gmem = owner;

	mutex_lock(&gmem->lock);
	gmem->seq++;
	if (gmem->invalidating) {
		gmem->invalidating = false;
		KVM_MMU_LOCK(gmem->kvm);
		kvm_mmu_invalidate_end(gmem->kvm, KVM_GMEM_HVA_START, KVM_GMEM_HVA_END);
		KVM_MMU_UNLOCK(gmem->kvm);
	}
	mutex_unlock(&gmem->lock);
}

static void kvm_gmem_release(void *owner)
{
	struct kvm_gmem *gmem = owner;
	struct kvm *kvm = gmem->kvm;
	struct kvm_memory_slot *slot, *next;

	/*
	 * The fd is gone but slots may still point at it: zap them and
	 * unbind, so that later private faults on them exit to user space
	 * instead of finding the file.
	 */
	mutex_lock(&kvm->slots_lock);
	mutex_lock(&gmem->lock);
	KVM_MMU_LOCK(kvm);
	kvm_mmu_invalidate_begin(kvm, KVM_GMEM_HVA_START, KVM_GMEM_HVA_END);
	if (kvm_gmem_unmap_bindings(gmem, 0, ULONG_MAX))
		kvm_flush_remote_tlbs(kvm);
	list_for_each_entry_safe(slot, next, &gmem->bindings, gmem.node) {
		WRITE_ONCE(slot->gmem.file, NULL);
		slot->gmem.owner = NULL;
		list_del_init(&slot->gmem.node);
	}
	kvm_mmu_invalidate_end(kvm, KVM_GMEM_HVA_START, KVM_GMEM_HVA_END);
	KVM_MMU_UNLOCK(kvm);
	/* The pages are freed right after this. */
	kvm_gmem_return_pages(gmem, 0, ULONG_MAX);
	mutex_unlock(&gmem->lock);
	mutex_unlock(&kvm->slots_lock);

	/* The file held the VM; this may be the last reference. */
	kvm_put_kvm(kvm);
	xa_destroy(&gmem->vendor);
	mutex_destroy(&gmem->lock);
	kfree(gmem);
}

/*
 * The kind of file pages [@start, @end) and the attributes of every GFN
 * that a slot maps at them, converted in place.  Pages turn private in the
 * file before their GFNs do, and shared after them, so that no GFN is
 * private while its page is host-shared.  The pages of a file the host
 * cannot map stay private: a slot takes its shared pages from elsewhere,
 * and what the guest left in them is not the host's.  slots_lock keeps
 * the bindings.
 */
static int kvm_gmem_set_kind(struct kvm_gmem *gmem, struct file *file,
			     pgoff_t start, pgoff_t end, bool private,
			     pgoff_t *err_index)
{
	bool in_place = gmem->flags & GUEST_MEMFD_FLAG_MMAP;
	struct kvm *kvm = gmem->kvm;
	struct kvm_memory_slot *slot;
	int r;

	lockdep_assert_held(&kvm->slots_lock);

	if (private && in_place) {
		r = privmem_convert(file, start, end, false, err_index);
		if (r)
			return r;
	}
	list_for_each_entry(slot, &gmem->bindings, gmem.node) {
		pgoff_t first = max(start, slot->gmem.pgoff);
		pgoff_t last = min(end, slot->gmem.pgoff + slot->npages);
		gfn_t gfn = slot->base_gfn - slot->gmem.pgoff;

		if (first >= last)
			continue;
		r = kvm_vm_set_mem_attributes_locked(kvm, gfn + first, gfn + last,
						     private ?
						     KVM_MEMORY_ATTRIBUTE_PRIVATE : 0);
		if (r)
			return r;
	}
	if (!private && in_place) {
		/* Zapped above: the vendor lets go before the host may map them. */
		kvm_gmem_return_unlocked(gmem, start, end);
		return privmem_convert(file, start, end, true, err_index);
	}
	return 0;
}

/*
 * KVM_SET_MEMORY_ATTRIBUTES2 on the guest_memfd: the attributes are the
 * file's, for the pages whatever slot maps them, as upstream Linux models
 * it.  Only in VMs with private memory; content is kept (flags 0).
 */
static long kvm_gmem_set_attributes(struct kvm_gmem *gmem, struct file *file,
				    struct kvm_memory_attributes2 __user *argp)
{
	loff_t isize = i_size_read(file_inode(file));
	struct kvm_memory_attributes2 attrs;
	struct kvm *kvm = gmem->kvm;
	pgoff_t err_index = 0;
	long r;

	if (copy_from_user(&attrs, argp, sizeof(attrs)))
		return -EFAULT;
	if (!kvm_arch_has_private_mem(kvm) || attrs.flags ||
	    memchr_inv(attrs.reserved, 0, sizeof(attrs.reserved)))
		return -EINVAL;
	if (attrs.attributes & ~KVM_MEMORY_ATTRIBUTE_PRIVATE)
		return -EINVAL;
	if (!attrs.size || !PAGE_ALIGNED(attrs.offset) ||
	    !PAGE_ALIGNED(attrs.size) || attrs.offset > isize ||
	    attrs.size > isize - attrs.offset)
		return -EINVAL;

	mutex_lock(&kvm->slots_lock);
	r = kvm_gmem_set_kind(gmem, file, attrs.offset >> PAGE_SHIFT,
			      (attrs.offset + attrs.size) >> PAGE_SHIFT,
			      attrs.attributes, &err_index);
	mutex_unlock(&kvm->slots_lock);

	if (r == -EAGAIN) {
		attrs.error_offset = (u64)err_index << PAGE_SHIFT;
		if (copy_to_user(argp, &attrs, sizeof(attrs)))
			return -EFAULT;
	}
	return r;
}

static long kvm_gmem_ioctl(void *owner, struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	switch (cmd) {
	case KVM_SET_MEMORY_ATTRIBUTES2:
		return kvm_gmem_set_attributes(owner, file, (void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct privmem_guest_ops kvm_gmem_ops = {
	.invalidate_begin	= kvm_gmem_invalidate_begin,
	.invalidate_end		= kvm_gmem_invalidate_end,
	.release		= kvm_gmem_release,
	.error			= kvm_gmem_error,
	.ioctl			= kvm_gmem_ioctl,
	.move_begin		= kvm_gmem_move_begin,
};

/**
 * kvm_gmem_supported_flags - what KVM_CAP_GUEST_MEMFD_FLAGS reports
 * @kvm: the VM, or NULL for /dev/kvm
 *
 * Any VM may map its guest_memfd.  Only one without private memory may
 * create it shared: in a VM with private memory the guest decides what
 * is shared, through the attributes, and a file starts out private.
 *
 * Return: the GUEST_MEMFD_FLAG_* that KVM_CREATE_GUEST_MEMFD accepts.
 */
u64 kvm_gmem_supported_flags(struct kvm *kvm)
{
	u64 flags = GUEST_MEMFD_FLAG_MMAP;

	if (!kvm || !kvm_arch_has_private_mem(kvm))
		flags |= GUEST_MEMFD_FLAG_INIT_SHARED;
	return flags;
}

int kvm_gmem_create(struct kvm *kvm, struct kvm_create_guest_memfd *args)
{
	unsigned int pm_flags = 0;
	struct kvm_gmem *gmem;
	struct file *file;
	int fd, r;

	if (args->flags & ~kvm_gmem_supported_flags(kvm))
		return -EINVAL;
	if (memchr_inv(args->reserved, 0, sizeof(args->reserved)))
		return -EINVAL;
	if ((s64)args->size <= 0 || !PAGE_ALIGNED(args->size))
		return -EINVAL;

	/* Like upstream's: no O_CLOEXEC, the VMM sets it if it wants it. */
	fd = get_unused_fd_flags(0);
	if (fd < 0)
		return fd;

	gmem = kzalloc(sizeof(*gmem), GFP_KERNEL_ACCOUNT);
	if (!gmem) {
		r = -ENOMEM;
		goto err_fd;
	}
	gmem->kvm = kvm;
	gmem->flags = args->flags;
	mutex_init(&gmem->lock);
	INIT_LIST_HEAD(&gmem->bindings);
	xa_init(&gmem->vendor);

	if (args->flags & GUEST_MEMFD_FLAG_MMAP)
		pm_flags |= PRIVMEM_MMAP;
	if (args->flags & GUEST_MEMFD_FLAG_INIT_SHARED)
		pm_flags |= PRIVMEM_SHARED;
	file = privmem_create("kvm-gmem", args->size, pm_flags, &kvm_gmem_ops,
			      gmem);
	if (IS_ERR(file)) {
		r = PTR_ERR(file);
		goto err_gmem;
	}

	/* The fd outlives the VM fd and keeps the VM until it is closed. */
	kvm_get_kvm(kvm);
	fd_install(fd, file);
	return fd;

err_gmem:
	mutex_destroy(&gmem->lock);
	kfree(gmem);
err_fd:
	put_unused_fd(fd);
	return r;
}

/*
 * In place: the pages that guest_memfd-only slots map at [@start, @end)
 * become @shared (host-mappable) or private in their files, keeping their
 * content.  Making them private fails with -EAGAIN while the host holds
 * one.  slots_lock keeps the slots and their bindings, and a file whose
 * last reference is gone waits for it in kvm_gmem_release().  Only in VMs
 * with private memory: elsewhere a file keeps the kind it was created with.
 *
 * A page the vendor owned becomes shared cleared, as its hardware would
 * show the host ciphertext, not the guest's data.
 *
 * A vendor that lets go of a page when its GFN becomes shared
 * (kvm_arch_gmem_release_on_shared()) gets the pages of the other slots
 * back too, which stay in their files, private to no one until a private
 * fault makes them the vendor's again.
 */
int kvm_gmem_convert(struct kvm *kvm, gfn_t start, gfn_t end, bool shared)
{
	struct kvm_memslot_iter iter;
	pgoff_t err_index;
	bool release;
	int i, r;

	lockdep_assert_held(&kvm->slots_lock);

	if (!kvm_arch_has_private_mem(kvm))
		return 0;
	release = shared && kvm_arch_gmem_release_on_shared(kvm);

	for (i = 0; i < KVM_ADDRESS_SPACE_NUM; i++) {
		struct kvm_memslots *slots = __kvm_memslots(kvm, i);

		kvm_for_each_memslot_in_gfn_range(&iter, slots, start, end) {
			struct kvm_memory_slot *slot = iter.slot;
			struct file *file = READ_ONCE(slot->gmem.file);
			gfn_t first = max(start, slot->base_gfn);
			gfn_t last = min(end, slot->base_gfn + slot->npages);
			pgoff_t pstart = first - slot->base_gfn + slot->gmem.pgoff;
			pgoff_t pend = last - slot->base_gfn + slot->gmem.pgoff;

			if (!file)
				continue;
			if (!kvm_slot_is_gmem_only(slot)) {
				if (release)
					kvm_gmem_return_unlocked(slot->gmem.owner,
								 pstart, pend);
				continue;
			}
			/* Zapped by the caller: the vendor lets go first. */
			r = shared ? kvm_gmem_return_cleared(slot->gmem.owner,
							     pstart, pend) : 0;
			if (!r)
				r = privmem_convert(file, pstart, pend, shared,
						    &err_index);
			if (r)
				return r;
		}
	}
	return 0;
}

/*
 * A page of @file that a new slot maps at a private GFN must not be host
 * shared.  Of the slot's GFNs [@base, @base + @npages), whose first page
 * is @pgoff, convert the pages of the private ones in the file.
 */
static int kvm_gmem_bind_private(struct kvm *kvm, struct file *file,
				 gfn_t base, gfn_t npages, pgoff_t pgoff)
{
	MA_STATE(mas, &kvm->mem_attr_tree, base, base);
	gfn_t first, last, end = base + npages;
	pgoff_t err_index;
	void *entry;
	int r;

	for (;;) {
		/* slots_lock keeps the tree's writers out; RCU its readers. */
		rcu_read_lock();
		entry = mas_find(&mas, end - 1);
		first = max_t(gfn_t, mas.index, base);
		last = min_t(gfn_t, mas.last, end - 1);
		rcu_read_unlock();
		if (!entry)
			return 0;
		if (xa_to_value(entry) & KVM_MEMORY_ATTRIBUTE_PRIVATE) {
			r = privmem_convert(file, pgoff + first - base,
					    pgoff + last + 1 - base, false,
					    &err_index);
			if (r)
				return r;
		}
		if (last >= end - 1)
			return 0;
		mas_set(&mas, last + 1);
	}
}

int kvm_gmem_bind(struct kvm *kvm, struct kvm_memory_slot *slot,
		  unsigned int fd, loff_t offset)
{
	loff_t size = (loff_t)slot->npages << PAGE_SHIFT;
	loff_t isize;
	pgoff_t start, end;
	struct kvm_memory_slot *other;
	struct kvm_gmem *gmem;
	struct file *file;
	int r = -EINVAL;

	lockdep_assert_held(&kvm->slots_lock);

	if (offset < 0 || !PAGE_ALIGNED(offset))
		return -EINVAL;

	file = fget(fd);
	if (!file)
		return -EBADF;

	/* Only a guest_memfd, and only one of this VM. */
	gmem = privmem_owner(file, &kvm_gmem_ops);
	if (!gmem || gmem->kvm != kvm)
		goto out;
	/* Within the file, written so that a huge offset cannot wrap. */
	isize = i_size_read(file_inode(file));
	if (offset > isize || size > isize - offset)
		goto out;

	start = offset >> PAGE_SHIFT;
	end = start + slot->npages;

	/*
	 * Bindings change only under slots_lock, so the range stays free
	 * while its pages are converted, which must happen outside
	 * gmem->lock: the file's invalidate lock nests outside it.
	 */
	mutex_lock(&gmem->lock);
	list_for_each_entry(other, &gmem->bindings, gmem.node) {
		if (start < other->gmem.pgoff + other->npages &&
		    other->gmem.pgoff < end) {
			r = -EEXIST;
			goto out_unlock;
		}
	}
	mutex_unlock(&gmem->lock);

	if ((gmem->flags & GUEST_MEMFD_FLAG_MMAP) && kvm_arch_has_private_mem(kvm)) {
		r = kvm_gmem_bind_private(kvm, file, slot->base_gfn,
					  slot->npages, start);
		if (r)
			goto out;
	}

	mutex_lock(&gmem->lock);
	slot->gmem.pgoff = start;
	slot->gmem.owner = gmem;
	/*
	 * The VMM can reach the file's shared pages itself, so the guest
	 * gets them from the file as well: one page, one copy.
	 */
	if (gmem->flags & GUEST_MEMFD_FLAG_MMAP)
		slot->flags |= KVM_MEMSLOT_GMEM_ONLY;
	WRITE_ONCE(slot->gmem.file, file);
	list_add(&slot->gmem.node, &gmem->bindings);
	r = 0;

out_unlock:
	mutex_unlock(&gmem->lock);
out:
	fput(file);
	return r;
}

void kvm_gmem_unbind(struct kvm_memory_slot *slot)
{
	struct kvm_gmem *gmem = slot->gmem.owner;

	/*
	 * Under slots_lock, like kvm_gmem_release(): a file being released
	 * has either unbound the slot already or waits to find it gone.
	 * NULL for a slot never bound, or unbound by the file's release.
	 */
	if (!gmem)
		return;

	mutex_lock(&gmem->lock);
	WRITE_ONCE(slot->gmem.file, NULL);
	slot->gmem.owner = NULL;
	list_del_init(&slot->gmem.node);
	mutex_unlock(&gmem->lock);
}

/* The slot's file, referenced; NULL if it is in its release or unbound. */
static struct file *kvm_gmem_get_file(struct kvm_memory_slot *slot)
{
	struct file *file;

	rcu_read_lock();
	file = READ_ONCE(slot->gmem.file);
	if (file && !get_file_rcu(file))
		file = NULL;
	rcu_read_unlock();
	return file;
}

int kvm_gmem_get_pfn(struct kvm *kvm, struct kvm_memory_slot *slot, gfn_t gfn,
		     kvm_pfn_t *pfn, int *max_order)
{
	pgoff_t index = gfn - slot->base_gfn + slot->gmem.pgoff;
	unsigned long p;
	struct file *file;
	int order, r;

	file = kvm_gmem_get_file(slot);
	if (!file)
		return -EFAULT;

	r = privmem_get_pfn(file, index, &p, &order);
	fput(file);
	if (r)
		return r;

	/* A huge mapping needs the GFN and the file index equally aligned. */
	while (order && ((gfn ^ index) & ((1UL << order) - 1)))
		order--;

	*pfn = p;
	*max_order = order;
	return 0;
}
EXPORT_SYMBOL_GPL(kvm_gmem_get_pfn);

/* Whether @file still holds @pfn at @index, in a folio of at least @order. */
static bool kvm_gmem_holds(struct file *file, pgoff_t index, kvm_pfn_t pfn,
			   int order)
{
	struct folio *folio = filemap_get_folio(file->f_mapping, index);
	bool holds;

	if (!folio)
		return false;
	holds = folio_order(folio) >= order &&
		folio_pfn(folio) + (index - folio->index) == pfn;
	folio_put(folio);
	return holds;
}

/*
 * Make the 2^@order pages at @index of @gmem's file, from @pfn, private for
 * the vendor at @gfn with @commit, and remember them.  Under gmem->lock
 * with no invalidation between its begin and end, the file's pages cannot
 * change: if the file holds the pages now, they are its own until an
 * invalidation returns them, else they left and the caller looks again
 * (-EAGAIN).
 */
static int kvm_gmem_commit(struct kvm_gmem *gmem, struct file *file,
			   pgoff_t index, gfn_t gfn, kvm_pfn_t pfn, int order,
			   kvm_gmem_commit_t commit, void *opaque)
{
	unsigned long i, nr = 1UL << order;
	int r;

	lockdep_assert_held(&gmem->lock);

	if ((gmem->seq & 1) || !kvm_gmem_holds(file, index, pfn, order))
		return -EAGAIN;
	/* Reserved first: once committed, the record cannot fail. */
	for (i = 0; i < nr; i++) {
		r = xa_reserve(&gmem->vendor, index + i, GFP_KERNEL_ACCOUNT);
		if (r)
			goto release;
	}
	r = commit(gmem->kvm, gfn, pfn, order, opaque);
	if (r)
		goto release;
	for (i = 0; i < nr; i++)
		xa_store(&gmem->vendor, index + i, xa_mk_value(pfn + i),
			 GFP_KERNEL_ACCOUNT);
	return 0;

release:
	while (i--)
		xa_release(&gmem->vendor, index + i);
	return r;
}

/* Copy a user page into @pfn, which nothing but the caller can reach yet. */
static int kvm_gmem_fill_page(kvm_pfn_t pfn, const void __user *src)
{
	struct page *page = pfn_to_page(pfn);
	void *va;
	int r = 0;

	/* Private pages may be out of the direct map: map this one alone. */
	va = privmem_vmap(&page, 1);
	if (!va)
		return -ENOMEM;
	if (copy_from_user(va, src, PAGE_SIZE))
		r = -EFAULT;
	vunmap(va);
	return r;
}

static int kvm_gmem_populate_page(struct kvm *kvm, struct kvm_memory_slot *slot,
				  gfn_t gfn, const void __user *src,
				  kvm_gmem_commit_t commit, void *opaque)
{
	struct kvm_gmem *gmem = slot->gmem.owner;
	struct file *file = slot->gmem.file;
	pgoff_t index = gfn - slot->base_gfn + slot->gmem.pgoff;
	kvm_pfn_t pfn;
	int order, r;

	do {
		r = kvm_gmem_get_pfn(kvm, slot, gfn, &pfn, &order);
		if (r)
			return r;
		/*
		 * Outside gmem->lock: the source may be a mapping of this very
		 * file, whose fault waits for a punch that waits for the lock.
		 * A page launched already is not written.
		 */
		mutex_lock(&gmem->lock);
		r = xa_load(&gmem->vendor, index) ? -EEXIST : 0;
		mutex_unlock(&gmem->lock);
		if (!r && src)
			r = kvm_gmem_fill_page(pfn, src);
		if (!r) {
			mutex_lock(&gmem->lock);
			r = xa_load(&gmem->vendor, index) ? -EEXIST :
			    kvm_gmem_commit(gmem, file, index, gfn, pfn, 0,
					    commit, opaque);
			mutex_unlock(&gmem->lock);
		}
		kvm_release_pfn_clean(pfn);
	} while (r == -EAGAIN);
	return r;
}

/**
 * kvm_gmem_populate - fill private guest_memfd pages at launch
 * @kvm: the VM
 * @gfn: the first GFN
 * @src: user pages to copy into them, or NULL to leave them as they are
 * @npages: how many
 * @commit: makes one page private for the vendor (measuring it, say);
 *	called under the file's bookkeeping lock, may sleep
 * @opaque: for @commit
 *
 * The GFNs must be private in the attributes and in one slot bound to a
 * guest_memfd; the range is cut at the end of @gfn's slot.  A page already
 * made private for the vendor is -EEXIST.  Its caller holds slots_lock.
 *
 * Return: the number of pages done, or a negative errno if none was: the
 * first page's -EINVAL (not private, no guest_memfd), -EEXIST, -EINTR,
 * -EFAULT or @commit's error.
 */
long kvm_gmem_populate(struct kvm *kvm, gfn_t gfn, const void __user *src,
		       unsigned long npages, kvm_gmem_commit_t commit,
		       void *opaque)
{
	struct kvm_memory_slot *slot;
	unsigned long i;
	int r = 0;

	lockdep_assert_held(&kvm->slots_lock);

	slot = gfn_to_memslot(kvm, gfn);
	if (!slot || !slot->gmem.owner)
		return -EINVAL;
	npages = min_t(unsigned long, npages, slot->base_gfn + slot->npages - gfn);

	for (i = 0; i < npages; i++) {
		if (signal_pending(current)) {
			r = -EINTR;
			break;
		}
		if (!kvm_mem_is_private(kvm, gfn + i)) {
			r = -EINVAL;
			break;
		}
		r = kvm_gmem_populate_page(kvm, slot, gfn + i,
					   src ? src + i * PAGE_SIZE : NULL,
					   commit, opaque);
		if (r)
			break;
		cond_resched();
	}
	return r && !i ? r : i;
}
EXPORT_SYMBOL_GPL(kvm_gmem_populate);

/**
 * kvm_gmem_make_private - make a faulted-in page private for the vendor
 * @kvm: the VM
 * @slot: the slot of the private fault, bound to a guest_memfd
 * @gfn: the faulting GFN
 * @pfn: its page, from kvm_gmem_get_pfn()
 * @order: the largest order to make private at once (the folio's, where
 *	every GFN of the aligned range is private), 0 for just this page
 * @commit: makes the pages private for the vendor, may sleep
 *
 * Cheap when the page is private for the vendor already.  A huge range
 * falls back to the one page when part of it is private already or
 * @commit refuses the whole range.
 *
 * Return: 0, -EAGAIN when the page left the file or is leaving it (the
 * fault must look again), -EFAULT without a file, or @commit's error.
 */
int kvm_gmem_make_private(struct kvm *kvm, struct kvm_memory_slot *slot,
			  gfn_t gfn, kvm_pfn_t pfn, int order,
			  kvm_gmem_commit_t commit)
{
	pgoff_t index = gfn - slot->base_gfn + slot->gmem.pgoff;
	unsigned long nr = 1UL << order, first;
	struct kvm_gmem *gmem;
	struct file *file;
	void *entry;
	int r;

	file = kvm_gmem_get_file(slot);
	if (!file)
		return -EFAULT;
	gmem = privmem_owner(file, &kvm_gmem_ops);
	if (WARN_ON_ONCE(!gmem)) {
		r = -EFAULT;
		goto out_put;
	}

	mutex_lock(&gmem->lock);
	entry = xa_load(&gmem->vendor, index);
	if (entry) {
		/* Another pfn: this one was replaced since it was looked up. */
		r = xa_to_value(entry) == pfn ? 0 : -EAGAIN;
		goto out;
	}
	first = index & ~(nr - 1);
	if (order && xa_find(&gmem->vendor, &first, (index | (nr - 1)),
			     XA_PRESENT))
		order = 0;
	r = -EAGAIN;
	if (order)
		r = kvm_gmem_commit(gmem, file, index & ~(nr - 1), gfn & ~(nr - 1),
				    pfn & ~(nr - 1), order, commit, NULL);
	if (r && r != -EAGAIN)
		order = 0;
	if (!order)
		r = kvm_gmem_commit(gmem, file, index, gfn, pfn, 0, commit, NULL);
out:
	mutex_unlock(&gmem->lock);
out_put:
	fput(file);
	return r;
}
EXPORT_SYMBOL_GPL(kvm_gmem_make_private);
