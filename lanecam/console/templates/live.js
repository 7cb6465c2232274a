function cell(tr, text, cls){const td=document.createElement('td'); td.textContent=text==null?'':String(text); if(cls) td.className=cls; tr.appendChild(td); return td;}
const live = new EventSource('/live');
live.onmessage = (e) => {
  const m = JSON.parse(e.data);
  if (m.type === 'vehicle') {
    const body = document.getElementById('lane-' + m.lane); if (!body) return;
    const tr = document.createElement('tr'); cell(tr, m.vehicle); cell(tr, m.status);
    const td = cell(tr, '');
    for (const o of m.occupants) { const sp=document.createElement('span'); sp.className=o.outcome; sp.textContent=o.outcome+' '; td.appendChild(sp); }
    body.prepend(tr); while (body.children.length > 50) body.lastChild.remove();
  } else if (m.type === 'referral') {
    const body = document.querySelector('#referrals tbody');
    const tr = document.createElement('tr'); tr.className='refer'; tr.id='ref-'+m.ref_id;
    cell(tr, m.lane); cell(tr, m.vehicle); cell(tr, m.seat); cell(tr, m.quality); cell(tr, m.score); cell(tr, m.reason);
    const td = cell(tr, ''); const a=document.createElement('a'); a.href='/referrals/'+encodeURIComponent(m.ref_id); a.textContent='open'; td.appendChild(a);
    body.appendChild(tr);
  } else if (m.type === 'decided') {
    const tr = document.getElementById('ref-' + m.ref_id); if (tr) tr.remove();
  }
};
